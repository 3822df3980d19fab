"""Review-text model: the packaged all-MiniLM-L6-v2 loads offline, fine-tunes in seconds on a small set,
and reads meaning that a bag of words cannot (unseen synonyms, negations)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from churn_assets.ml.text import ReviewSentimentModel, bad_experience
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


def test_text_model_loads_offline_predicts_and_round_trips(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    texts, ratings = reviews(64, GOOD_TRAIN, BAD_TRAIN, seed=1)
    m = ReviewSentimentModel(epochs=1, fine_tune_layers=1, max_train_texts=48, batch_size=16, progress=False)
    m.fit(texts, ratings)
    info = m.training_info_
    assert info["train_texts"] == 48 and info["fine_tuned_layers"] == 1 and info["device"] in ("cpu", "cuda")
    trainable = {n for n, p in m.encoder_.named_parameters() if p.requires_grad}
    assert trainable and all(".layer.5." in n for n in trainable)  # only the top layer of six
    p = m.predict_bad(texts + ["", None])
    assert p.shape == (66,) and ((p > 0) & (p < 1)).all()
    m.save(tmp_path / "text")
    again = ReviewSentimentModel.load(tmp_path / "text")
    np.testing.assert_allclose(again.predict_bad(texts), p[:64], rtol=0, atol=1e-6)
    assert again.get_params() == m.get_params()


@pytest.mark.slow  # ~10-25 s: three epochs over 600 reviews through MiniLM
def test_text_model_beats_tfidf_where_the_meaning_is_in_the_wording():
    train = reviews(600, GOOD_TRAIN, BAD_TRAIN, seed=2)
    test_texts, test_ratings = reviews(300, GOOD_TEST, BAD_TEST, seed=3)  # unseen adjectives
    y = bad_experience(test_ratings)
    model = ReviewSentimentModel(epochs=3, fine_tune_layers=2, lr=1e-4, batch_size=16, progress=False, seed=7)
    p_bert = model.fit(*train).predict_bad(test_texts)
    p_tfidf = tfidf_baseline(*train, test_texts)
    auc_bert, auc_tfidf = roc_auc_score(y, p_bert), roc_auc_score(y, p_tfidf)
    assert auc_tfidf < 0.65, auc_tfidf  # it only knows the template words
    assert auc_bert > 0.85 and auc_bert > auc_tfidf + 0.2, (auc_bert, auc_tfidf)
    negated = np.array(["not " in t for t in test_texts])
    assert roc_auc_score(y[negated], p_bert[negated]) > 0.75  # "not horrible" is good, "not superb" is bad


def test_evaluate_text_models_reports_both_aucs_on_one_split():
    texts, ratings = reviews(160, GOOD_TRAIN, BAD_TRAIN, seed=4)
    out = evaluate_text_models(
        texts, ratings, test_size=0.25, seed=3, epochs=1, fine_tune_layers=0, batch_size=32, progress=False
    )
    assert out["n_train"] == 120 and out["n_test"] == 40
    for key in ("test_roc_auc_bert", "test_roc_auc_tfidf"):
        assert 0.0 <= out[key] <= 1.0
    assert out["fit_seconds"] > 0 and out["predict_texts_per_second"] > 0


def test_text_model_rejects_single_class():
    with pytest.raises(ValueError, match="single class"):
        ReviewSentimentModel(progress=False).fit(["fine", "good"], [5, 4])
