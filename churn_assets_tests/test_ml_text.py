"""Review-text model: the packaged all-MiniLM-L6-v2 loads offline, fine-tunes in seconds on a small set,
and reads meaning that a bag of words cannot (unseen synonyms, negations)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from churn_assets.ml.text import ReviewSentimentModel, bad_experience, review_target
from churn_assets.ml.text_encoder import EncoderReviewClassifier, auto_max_len, head_tail
from churn_assets.ml.text_evaluation import evaluate_text_models, tfidf_baseline

OBJECTS = ["delivery", "product", "service", "packaging", "item", "order", "quality"]
TEMPLATES = [
    "the {o} was {a}",
    "{a} {o}, would buy again",
    "honestly the {o} was {a}",
    "i found the {o} {a}",
    "{o}: {a}",
]
GOOD_TRAIN = ["great", "excellent", "good", "nice", "lovely"]
BAD_TRAIN = ["terrible", "awful", "bad", "poor", "useless"]
GOOD_TEST, BAD_TEST = (
    ["fantastic", "wonderful", "superb", "perfect", "brilliant"],
    ["horrible", "dreadful", "disappointing", "broken", "rubbish"],
)


MANY_GOOD = (
    "great excellent good nice lovely fantastic wonderful superb perfect brilliant outstanding splendid marvelous "
    "terrific fabulous delightful impressive exceptional pleasant satisfying admirable magnificent stellar sublime "
    "flawless exquisite charming remarkable first-rate top-notch solid reliable sturdy elegant gorgeous amazing"
).split()
MANY_BAD = (
    "terrible awful bad poor useless horrible dreadful disappointing broken rubbish atrocious abysmal appalling "
    "lousy shoddy inferior defective faulty flimsy pathetic dismal horrendous wretched mediocre subpar unusable "
    "worthless ghastly dire miserable shabby deficient lamentable unacceptable woeful crummy botched damaged"
).split()
# hand-written Chinese shop reviews (1 = bad experience, 5 = good)
CHINESE_REVIEWS = [
    ("物流太慢了，等了两个星期", 1),
    ("质量很差，用了两天就坏了", 1),
    ("包装破损，东西也不对", 1),
    ("客服态度很差，一直不回复", 1),
    ("退货很麻烦，钱还没退回来", 1),
    ("和图片完全不一样，很失望", 1),
    ("不好用，不推荐购买", 2),
    ("屏幕有划痕，太差了", 1),
    ("发错货了，联系客服也没用", 1),
    ("味道很难闻，质量不行", 2),
    ("尺码太小，根本穿不了", 2),
    ("价格贵，质量差，不会再买", 1),
    ("快递员态度恶劣，东西还压坏了", 1),
    ("电池不耐用，半天就没电", 2),
    ("买了就后悔，太失望了", 1),
    ("质量很好，非常满意", 5),
    ("物流很快，第二天就到了", 5),
    ("包装很好，东西也不错", 5),
    ("客服很耐心，服务很好", 5),
    ("性价比很高，推荐购买", 5),
    ("和图片一样，很漂亮", 5),
    ("很好用，已经推荐给朋友", 5),
    ("屏幕很清晰，非常喜欢", 4),
    ("尺码合适，穿着很舒服", 4),
    ("味道很好，还会再买", 5),
    ("电池很耐用，用了一周才充电", 4),
    ("快递很快，包装完好", 5),
    ("东西不错，值得购买", 4),
    ("非常满意的一次购物", 5),
    ("质量不错，价格也便宜", 5),
]

PORTUGUESE_REVIEWS = [
    ("A entrega atrasou duas semanas", 1),
    ("Produto chegou quebrado, muito ruim", 1),
    ("Não recomendo, péssima qualidade", 1),
    ("O atendimento não respondeu minhas mensagens", 1),
    ("Ainda estou esperando o reembolso", 1),
    ("Veio a cor errada e a embalagem rasgada", 2),
    ("Parou de funcionar depois de dois dias", 1),
    ("Muito caro para a qualidade que tem", 2),
    ("Não chegou, e ninguém resolve o problema", 1),
    ("Péssimo, material fraco e mal acabado", 1),
    ("Demorou demais para chegar", 2),
    ("Comprei e me arrependi", 1),
    ("Produto diferente da foto, decepcionado", 1),
    ("Defeito logo no primeiro uso", 1),
    ("Horrível, não comprem", 1),
    ("Chegou antes do prazo, muito bom", 5),
    ("Produto de ótima qualidade, recomendo", 5),
    ("Adorei, igual à foto", 5),
    ("Atendimento excelente e entrega rápida", 5),
    ("Bem embalado e funciona perfeitamente", 5),
    ("Ótimo custo benefício", 4),
    ("Muito satisfeito com a compra", 5),
    ("Material resistente e bonito", 4),
    ("Chegou tudo certo, obrigado", 5),
    ("Excelente produto, vou comprar de novo", 5),
    ("Gostei muito, recomendo a loja", 5),
    ("Entrega rápida e produto bom", 4),
    ("Perfeito, superou as expectativas", 5),
    ("Bom produto pelo preço", 4),
    ("Funciona muito bem, estou feliz", 5),
]
# unseen wordings, for the held-out check of the hand-written samples
CHINESE_HELD_OUT = [
    ("太差了，东西坏了也没人管", 1),
    ("物流慢，客服也不回复", 1),
    ("质量不好，很失望", 1),
    ("不推荐，和描述不一样", 1),
    ("包装很差，东西破了", 1),
    ("很满意，物流也快", 5),
    ("东西很好，推荐", 5),
    ("质量很好，很喜欢", 5),
    ("客服服务好，很耐心", 5),
    ("非常好用，会再买", 5),
]
PORTUGUESE_HELD_OUT = [
    ("Péssima entrega, atrasou muito", 1),
    ("Não funciona, produto ruim", 1),
    ("Quebrado, quero meu dinheiro de volta", 1),
    ("Atendimento ruim, não recomendo", 1),
    ("Decepcionado com a qualidade", 1),
    ("Ótimo, chegou rápido", 5),
    ("Excelente qualidade, adorei", 5),
    ("Recomendo, muito bom", 5),
    ("Produto perfeito e bem embalado", 5),
    ("Muito bom, satisfeito", 5),
]


def reviews(n: int, good: list[str], bad: list[str], seed: int, negation_share: float = 0.3):
    """Templated reviews; a bad experience is said with a bad word or a negated good word ("not great")
    and a good one with a good word or a negated bad word ("not awful"). Ratings 1-2 vs 4-5."""
    rng = np.random.default_rng(seed)
    texts, ratings = [], []
    for _ in range(n):
        is_bad = rng.random() < 0.5
        negate = rng.random() < negation_share
        pool = (good if negate else bad) if is_bad else (bad if negate else good)
        adjective = ("not " if negate else "") + str(rng.choice(pool))
        texts.append(str(rng.choice(TEMPLATES)).format(o=rng.choice(OBJECTS), a=adjective))
        ratings.append(int(rng.integers(1, 3)) if is_bad else int(rng.integers(4, 6)))
    return texts, ratings


def test_target_and_tfidf_baseline():
    assert bad_experience([1, 2, 3, 5]).tolist() == [1, 1, 0, 0]
    texts, ratings = reviews(300, GOOD_TRAIN, BAD_TRAIN, seed=0, negation_share=0.0)
    p = tfidf_baseline(texts[:200], ratings[:200], texts[200:])
    assert p.shape == (100,) and ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(bad_experience(ratings[200:]), p) > 0.95  # words seen in training: easy for TF-IDF
    assert np.allclose(tfidf_baseline(["a", "b"], [5, 4], ["c"]), 0.0)  # one class: its rate


def test_review_target_takes_ratings_or_labels():
    assert review_target([1, 2, 3, 4, 5]).tolist() == [1, 1, 0, 0, 0]
    assert review_target([0, 1, 1, 0]).tolist() == [0, 1, 1, 0]  # 0/1 labels: 1 = bad experience
    assert review_target([1, 1, 5]).tolist() == [1, 1, 0]  # all ones and a five: ratings


def test_encoder_candidate_loads_offline_predicts_and_round_trips(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    texts, ratings = reviews(64, GOOD_TRAIN, BAD_TRAIN, seed=1)
    encoder = {"epochs": 1, "fine_tune_layers": 1, "max_train_texts": 48, "batch_size": 16}
    m = ReviewSentimentModel(candidates=("encoder",), encoder_params=encoder, progress=False)
    m.fit(texts, ratings)
    assert m.selected_ == "encoder" and set(m.candidates_) == {"encoder"}
    info = m.training_info_
    assert info["encoder_train_texts"] == 48 and info["encoder_fine_tuned_layers"] == 1
    assert info["device"] in ("cpu", "cuda") and info["language"] == "en"
    trainable = {n for n, p in m.encoder_model_.encoder_.named_parameters() if p.requires_grad}
    assert trainable and all(".layer.5." in n for n in trainable)  # only the top layer of six
    p = m.predict_bad(texts + ["", None])
    assert p.shape == (66,) and ((p > 0) & (p < 1)).all()
    m.save(tmp_path / "text")
    again = ReviewSentimentModel.load(tmp_path / "text")
    np.testing.assert_allclose(again.predict_bad(texts), p[:64], rtol=0, atol=1e-6)
    assert again.get_params() == m.get_params() and again.selected_ == "encoder"


def test_head_tail_truncation_keeps_the_verdict_at_the_end():
    ids = list(range(100))
    kept = head_tail(ids, 30)
    assert len(kept) == 30 and kept[:10] == list(range(10)) and kept[10:] == list(range(80, 100))
    assert head_tail(ids[:20], 30) == ids[:20]
    assert auto_max_len(np.array([10] * 96 + [500] * 4)) == 32  # the 95th percentile, at least 32
    assert auto_max_len(np.arange(1, 101)) == 96
    assert auto_max_len(np.array([1000] * 10)) == 256


def test_encoder_reads_the_end_of_a_long_review_with_head_tail_truncation():
    """The verdict is the last word of a long review: head-only truncation never sees it."""
    rng = np.random.default_rng(5)
    filler = " ".join(["we ordered it on monday and unpacked it at home in the evening"] * 6)
    verdicts = [(w, 1) for w in BAD_TRAIN] + [(w, 5) for w in GOOD_TRAIN]
    texts, ratings = [], []
    for _ in range(160):
        word, rating = verdicts[rng.integers(len(verdicts))]
        texts.append(f"{filler}. verdict: {word}")
        ratings.append(rating)
    y = bad_experience(ratings)
    aucs = {}
    for truncation in ("head", "head_tail"):
        enc = EncoderReviewClassifier(
            max_len=48, truncation=truncation, epochs=2, fine_tune_layers=1, lr=1e-4, batch_size=16, progress=False
        )
        enc.fit(texts[:120], y[:120])
        aucs[truncation] = roc_auc_score(y[120:], enc.predict_bad(texts[120:]))
    assert aucs["head_tail"] > 0.9 and aucs["head"] < 0.7, aucs


def test_selection_keeps_tfidf_where_the_signal_is_in_arbitrary_codes():
    """Labels carried by product codes that mean nothing to a pretrained encoder: TF-IDF wins and is refitted."""
    rng = np.random.default_rng(8)
    bad_codes, good_codes = [f"qx{i}z" for i in range(6)], [f"vk{i}p" for i in range(6)]
    texts, ratings = [], []
    for _ in range(400):
        bad = rng.random() < 0.4
        code = str(rng.choice(bad_codes if bad else good_codes))
        texts.append(f"order {code} arrived, {rng.choice(['ok', 'fine', 'as described', 'thanks'])}")
        ratings.append(1 if bad else 5)
    m = ReviewSentimentModel(encoder_params={"epochs": 1, "fine_tune_layers": 1}, progress=False).fit(texts, ratings)
    assert m.selected_ == "tfidf", m.candidates_
    assert m.candidates_["tfidf"] >= max(m.candidates_.values()) and m.candidates_["tfidf"] > 0.99
    assert m.training_info_["validation_texts"] == 80
    np.testing.assert_array_equal(m.predict_bad(texts), m.tfidf_.predict_proba(texts)[:, 1])


@pytest.mark.slow  # ~10-20 s: the encoder fine-tunes over 80 reviews
def test_selection_keeps_the_encoder_where_the_meaning_is_in_unseen_synonyms():
    """Each review uses one of many adjectives, most seen once or never in training: only the encoder knows them."""
    rng = np.random.default_rng(9)
    texts, ratings = [], []
    for _ in range(160):
        bad = rng.random() < 0.5
        word = str(rng.choice(MANY_BAD if bad else MANY_GOOD))
        texts.append(str(rng.choice(TEMPLATES)).format(o=rng.choice(OBJECTS), a=word))
        ratings.append(int(rng.integers(1, 3)) if bad else int(rng.integers(4, 6)))
    encoder = {"epochs": 3, "fine_tune_layers": 2, "lr": 1e-4, "batch_size": 16}
    m = ReviewSentimentModel(validation_share=0.5, encoder_params=encoder, progress=False, seed=7)
    m.fit(texts, ratings)
    assert m.selected_ in ("encoder", "stacked"), m.candidates_
    assert m.candidates_["encoder"] > m.candidates_["tfidf"] + 0.05, m.candidates_


@pytest.mark.parametrize(
    ("train", "held_out", "language", "vectorizers"),
    [
        (CHINESE_REVIEWS, CHINESE_HELD_OUT, "zh", ["char"]),  # no spaces between words: characters
        (PORTUGUESE_REVIEWS, PORTUGUESE_HELD_OUT, "pt", ["word", "char"]),
    ],
    ids=["chinese", "portuguese"],
)
def test_non_english_reviews_skip_the_packaged_encoder_and_still_read_the_wording(
    train, held_out, language, vectorizers
):
    texts, ratings = zip(*train, strict=True)
    m = ReviewSentimentModel(progress=False, validation_share=0.34).fit(list(texts), list(ratings))
    assert m.language_ == language and m.selected_ == "tfidf"
    assert "encoder" in m.skipped_ and "model_path" in m.skipped_["encoder"] and "stacked" in m.skipped_
    assert m.encoder_model_ is None  # the English encoder was not even loaded
    assert [name for name, _ in m.tfidf_.vectorizer_.transformer_list] == vectorizers
    test_texts, test_ratings = zip(*held_out, strict=True)
    assert roc_auc_score(bad_experience(test_ratings), m.predict_bad(list(test_texts))) >= 0.8


@pytest.mark.slow  # ~10-25 s: three epochs over 600 reviews through MiniLM
def test_text_model_beats_tfidf_where_the_meaning_is_in_the_wording():
    train = reviews(600, GOOD_TRAIN, BAD_TRAIN, seed=2)
    test_texts, test_ratings = reviews(300, GOOD_TEST, BAD_TEST, seed=3)  # unseen adjectives
    y = bad_experience(test_ratings)
    model = EncoderReviewClassifier(epochs=3, fine_tune_layers=2, lr=1e-4, batch_size=16, progress=False, seed=7)
    p_bert = model.fit(train[0], bad_experience(train[1])).predict_bad(test_texts)
    p_tfidf = tfidf_baseline(*train, test_texts)
    auc_bert, auc_tfidf = roc_auc_score(y, p_bert), roc_auc_score(y, p_tfidf)
    assert auc_tfidf < 0.65, auc_tfidf  # it only knows the template words
    assert auc_bert > 0.85 and auc_bert > auc_tfidf + 0.2, (auc_bert, auc_tfidf)
    negated = np.array(["not " in t for t in test_texts])
    assert roc_auc_score(y[negated], p_bert[negated]) > 0.75  # "not horrible" is good, "not superb" is bad


def test_evaluate_text_models_reports_every_candidate_on_one_split():
    texts, ratings = reviews(200, GOOD_TRAIN, BAD_TRAIN, seed=4)
    encoder = {"epochs": 1, "fine_tune_layers": 0}
    out = evaluate_text_models(texts, ratings, test_size=0.25, seed=3, encoder_params=encoder, progress=False)
    assert out["n_train"] == 150 and out["n_test"] == 50
    for key in ("tfidf", "encoder", "stacked", "selected", "baseline"):
        assert 0.0 <= out[f"test_roc_auc_{key}"] <= 1.0
    assert out["selected"] in ("tfidf", "encoder", "stacked") and out["language"] == "en"
    assert out["test_roc_auc_selected"] == out[f"test_roc_auc_{out['selected']}"]
    assert out["fit_seconds"] > 0 and out["predict_texts_per_second"] > 0


def test_text_model_rejects_single_class_and_unknown_candidates():
    with pytest.raises(ValueError, match="single class"):
        ReviewSentimentModel(progress=False).fit(["fine", "good"], [5, 4])
    with pytest.raises(ValueError, match="candidates"):
        ReviewSentimentModel(candidates=("bert",)).fit(["fine", "bad"], [5, 1])


def test_a_stacked_model_round_trips_and_an_encoder_saved_before_the_selection_still_loads(tmp_path):
    import json

    texts, ratings = reviews(200, GOOD_TRAIN, BAD_TRAIN, seed=6)
    encoder = {"epochs": 1, "fine_tune_layers": 1, "batch_size": 32}
    m = ReviewSentimentModel(candidates=("stacked",), validation_share=0.25, encoder_params=encoder, progress=False)
    m.fit(texts, ratings)
    assert m.selected_ == "stacked" and set(m.candidates_) == {"stacked"}
    scores = m.candidate_scores(texts)
    np.testing.assert_allclose(m.predict_bad(texts), m.stacked(scores["tfidf"], scores["encoder"]))
    m.save(tmp_path / "stacked")
    again = ReviewSentimentModel.load(tmp_path / "stacked")
    np.testing.assert_allclose(again.predict_bad(texts), m.predict_bad(texts), rtol=0, atol=1e-6)

    # the layout of earlier versions: the encoder's files and a text_model.json of its own parameters
    state = json.loads((tmp_path / "stacked" / "text_model.json").read_text())
    old = {"params": {"max_len": state["encoder"]["max_len"], "epochs": 1}, "training_info": {"device": "cpu"}}
    (tmp_path / "stacked" / "text_model.json").write_text(json.dumps(old))
    legacy = ReviewSentimentModel.load(tmp_path / "stacked")
    assert legacy.selected_ == "encoder" and legacy.encoder_model_.truncation == "head"
    np.testing.assert_allclose(legacy.predict_bad(texts), scores["encoder"], rtol=0, atol=1e-6)


def test_a_tfidf_model_saves_without_the_encoder_and_scores_without_torch_weights(tmp_path):
    texts, ratings = reviews(200, GOOD_TRAIN, BAD_TRAIN, seed=7, negation_share=0.0)
    m = ReviewSentimentModel(candidates=("tfidf",), progress=False).fit(texts, ratings)
    m.save(tmp_path / "tfidf")
    assert not (tmp_path / "tfidf" / "encoder").exists()
    again = ReviewSentimentModel.load(tmp_path / "tfidf")
    assert again.selected_ == "tfidf" and again.encoder_model_ is None
    np.testing.assert_array_equal(again.predict_bad(texts), m.predict_bad(texts))
