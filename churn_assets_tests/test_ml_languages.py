"""Language detection for the text models: per text, and a shop's dominant language."""

import pytest

from churn_assets.ml.languages import dominant_language, is_unspaced, language_counts, text_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The parcel arrived late and the box was broken.", "en"),
        ("O produto chegou quebrado e a entrega atrasou muito.", "pt"),
        ("El producto llegó tarde y no funciona.", "es"),
        ("Le produit est arrivé en retard, très déçu.", "fr"),
        ("Das Produkt ist sehr gut und kam schnell.", "de"),
        ("物流太慢了，包装也破了，不会再买。", "zh"),
        ("iPhone 的屏幕很好，电池也耐用", "zh"),  # a brand name in Latin letters does not make it English
        ("配送が遅い。商品はよかったです。", "ja"),
        ("배송이 너무 늦었어요", "ko"),
    ],
)
def test_text_language_names_the_language(text, language):
    assert text_language(text) == language


def test_empty_and_wordless_texts():
    assert text_language("") == ""
    assert text_language(None) == ""
    assert text_language("   ") == ""
    assert text_language("12345 !!!") == "other"
    assert text_language("xyzzy plugh") == "other"


def test_dominant_language_is_the_most_common_and_ignores_noise():
    texts = ["物流很快，质量很好"] * 6 + ["Great product, thanks"] * 3 + ["", "12345", None]
    assert dominant_language(texts) == "zh"
    assert language_counts(texts) == {"zh": 6, "en": 3, "other": 1}
    assert dominant_language(["", "!!!"]) == "other"


def test_dominant_language_samples_evenly_when_asked_for_a_small_sample():
    texts = ["A entrega atrasou e o produto não veio"] * 300 + ["It was fine"] * 100
    assert dominant_language(texts, sample=40) == "pt"


def test_unspaced_languages():
    assert is_unspaced("zh") and is_unspaced("ja") and is_unspaced("ko")
    assert not is_unspaced("en") and not is_unspaced("pt")
