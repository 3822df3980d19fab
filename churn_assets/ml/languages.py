"""Which language a review is written in: ``text_language`` (one text) and ``dominant_language`` (a shop).

Only what the text models need: the writing system (Chinese, Japanese and Korean write without spaces
between words, so word n-grams fail there and character n-grams carry the text model) and, for Latin
script, the language whose common function words the text uses most (English, Portuguese, Spanish,
French, German; else ``"other"``). Deterministic and fast (a regular expression and a set lookup per
word), so it runs on every review; a statistical detector would add a dependency for no gain at this
granularity.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

UNSPACED_LANGUAGES = frozenset({"zh", "ja", "ko"})

_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_WORD = re.compile(r"[^\W\d_]+")

# frequent function words that are rare in the other listed languages
_FUNCTION_WORDS = {
    "en": "the and is it was this that with for not but very have you are of to my they be would great good love".split(),
    "pt": "não que com uma para muito mas foi está produto bom chegou entrega ainda é isso meu dos das".split(),
    "es": "el los las que con una para muy pero fue está producto bueno llegó y del por es".split(),
    "fr": "le les des est une pour très mais avec pas produit bien je il du et sur".split(),
    "de": "der die das und ist nicht ein eine sehr mit für aber war ich es auch".split(),
}
_WORD_LANGUAGES: dict[str, list[str]] = {}
for _lang, _words in _FUNCTION_WORDS.items():
    for _w in _words:
        _WORD_LANGUAGES.setdefault(_w, []).append(_lang)


def text_language(text: object) -> str:
    """ISO 639-1 code of one text's language (``en``, ``pt``, ``es``, ``fr``, ``de``, ``zh``, ``ja``, ``ko``),
    ``"other"`` when no listed language shows, ``""`` for an empty text."""
    if not isinstance(text, str) or not text.strip():
        return ""
    han, kana, hangul = len(_HAN.findall(text)), len(_KANA.findall(text)), len(_HANGUL.findall(text))
    letters = len(_WORD.findall(text))
    cjk = han + kana + hangul
    if cjk and cjk >= letters:  # a Chinese review with an English brand name is still Chinese
        if hangul > han + kana:
            return "ko"
        return "ja" if kana else "zh"
    votes: Counter[str] = Counter()
    for word in _WORD.findall(text.lower()):
        for lang in _WORD_LANGUAGES.get(word, ()):
            votes[lang] += 1
    if not votes:
        return "other"
    best = max(votes.values())
    # ties go to the first language in the table's order (English, then Portuguese, ...)
    return next(lang for lang in _FUNCTION_WORDS if votes[lang] == best)


def language_counts(texts: Iterable[object]) -> Counter[str]:
    """How many texts are in each language (empty texts are not counted)."""
    counts: Counter[str] = Counter()
    for t in texts:
        lang = text_language(t)
        if lang:
            counts[lang] += 1
    return counts


def dominant_language(texts: Sequence[object], sample: int = 5000) -> str:
    """The most common language among (at most ``sample`` evenly spaced) texts; ``"other"`` when none shows."""
    n = len(texts)
    step = max(1, n // max(1, int(sample)))
    counts = language_counts(texts[i] for i in range(0, n, step))
    counts.pop("other", None)
    return counts.most_common(1)[0][0] if counts else "other"


def is_unspaced(language: str) -> bool:
    """True for languages written without spaces between words (character n-grams read them)."""
    return language in UNSPACED_LANGUAGES
