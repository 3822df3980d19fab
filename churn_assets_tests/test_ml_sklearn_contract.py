"""The churn models and the review-text model follow scikit-learn's estimator contract (no Dagster).

scikit-learn's own checks that need no fitting run as they are (``SKLEARN_CHECKS``). The checks that fit
(check_estimator's ``check_fit_idempotent``, ``check_dont_overwrite_parameters``, ``check_classifiers_*``,
``check_n_features_in``, ...) are excluded: they generate unnamed numpy arrays, while these models read a
DataFrame with named feature columns (and the text model a list of strings). Their points are checked
below on DataFrames instead: fit leaves the parameters as given and adds only ``_``-attributes, a second
fit gives the same model, ``classes_`` / ``predict`` / ``predict_proba`` behave as for a classifier.
"""

from __future__ import annotations

import random

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from churn_assets.ml.models import CalibratedModel, LogisticChurnModel, available_models, create_model
from churn_assets.ml.sequence.synthetic import synthetic_sequences
from churn_assets.ml.text import ReviewSentimentModel
from churn_assets.ml.text_encoder import EncoderReviewClassifier
from churn_assets.ml.text_tfidf import TfidfReviewClassifier

SKLEARN_CHECKS = [
    check_get_params_invariance,
    check_set_params,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
]
FAST_MODELS = ["recency_rule", "bgnbd", "logistic", "gbt"]
TINY_BERT = dict(
    hidden_size=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=32,
    max_len=16,
    batch_size=32,
    progress=False,
    epochs=1,
    pretrain_epochs=1,
    seed=3,
    num_threads=1,
)


def signal_data(n: int, seed: int) -> pd.DataFrame:
    """Churn driven by x1 (up), x2 (down) and region "south"; ``noise`` carries nothing."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "region": rng.choice(["north", "south"], n),
            "days_since_last_order": rng.exponential(30, n).round(),
            "bgnbd_frequency": rng.poisson(3, n).astype(float),
            "bgnbd_T": rng.uniform(100, 300, n),
        }
    )
    d["recency_over_typical_gap"] = d["days_since_last_order"] / 20.0
    d["bgnbd_recency"] = np.clip(d["bgnbd_T"] - d["days_since_last_order"], 0, None)
    z = -0.5 + 1.5 * d["x1"] - 1.0 * d["x2"] + 1.0 * (d["region"] == "south") + 0.02 * d["days_since_last_order"]
    d["churned"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return d


def unfitted_estimators() -> list[BaseEstimator]:
    return [create_model(name) for name in available_models()] + [
        CalibratedModel(create_model("logistic")),
        ReviewSentimentModel(),
        EncoderReviewClassifier(),
        TfidfReviewClassifier(),
    ]


def est_id(est) -> str:
    return getattr(est, "name", type(est).__name__)


def plain_params(est) -> dict:
    """Deep parameters less the nested estimator objects (a clone holds clones of those)."""
    return {k: v for k, v in est.get_params(deep=True).items() if not isinstance(v, BaseEstimator)}


def fitted_model(name: str, data: pd.DataFrame):
    model = create_model(name, **({"n_estimators": 30, "n_jobs": 1} if name == "gbt" else {}))
    return model.fit(data, data["churned"])


# ---- parameters ------------------------------------------------------------------------------------
@pytest.mark.parametrize("est", unfitted_estimators(), ids=est_id)
def test_clone_gives_an_unfitted_copy_with_equal_params(est):
    copy = clone(est)
    assert type(copy) is type(est) and copy is not est
    assert plain_params(copy) == plain_params(est)
    assert not copy.__sklearn_is_fitted__() and not hasattr(copy, "classes_")
    assert is_classifier(est)


@pytest.mark.parametrize("est", unfitted_estimators(), ids=est_id)
def test_get_params_set_params_round_trip(est):
    other = clone(est)
    other.set_params(**other.get_params(deep=False))
    assert plain_params(other) == plain_params(est)
    name, value = next(
        (k, v) for k, v in plain_params(est).items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    )  # base__C for the calibrated
    other.set_params(**{name: value + 1})
    assert other.get_params()[name] == value + 1
    assert "__" in name or getattr(other, name) == value + 1  # stored as an attribute of the same name
    assert est.get_params()[name] == value  # the original is untouched
    with pytest.raises(ValueError):
        other.set_params(no_such_parameter=1)


# CalibratedModel is left out of check_parameters_default_constructible only: like sklearn's
# meta-estimators it has a required parameter (the base model).
@pytest.mark.parametrize(
    "est,check",
    [
        pytest.param(est, check, id=f"{est_id(est)}-{check.__name__}")
        for est in unfitted_estimators()
        for check in SKLEARN_CHECKS
        if not (isinstance(est, CalibratedModel) and check is check_parameters_default_constructible)
    ],
)
def test_sklearn_checks_that_need_no_fitting(est, check):
    check(type(est).__name__, est)


def test_nested_parameters_of_a_calibrated_model():
    cal = CalibratedModel(create_model("gbt"), method="sigmoid")
    assert cal.get_params()["base__n_estimators"] == 500
    cal.set_params(base__n_estimators=25)
    assert cal.base.n_estimators == 25 and cal.params["base.n_estimators"] == 25


# ---- fitting ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FAST_MODELS)
def test_fit_keeps_parameters_adds_only_fitted_attributes_and_is_idempotent(name):
    data = signal_data(400, 0)
    model = create_model(name, **({"n_estimators": 30, "n_jobs": 1} if name == "gbt" else {}))
    before = {k: joblib.hash(v) for k, v in model.get_params().items()}
    attrs_before = set(vars(model))
    p1 = model.fit(data, data["churned"]).predict_proba(data)
    assert {k: joblib.hash(v) for k, v in model.get_params().items()} == before
    added = set(vars(model)) - attrs_before
    assert added and all(a.endswith("_") or a.startswith("_") for a in added), added
    np.testing.assert_array_equal(model.fit(data, data["churned"]).predict_proba(data), p1)
    # a classifier: labels from classes_, probabilities in two columns that sum to one
    assert model.classes_.tolist() == [0, 1]
    assert p1.shape == (len(data), 2) and np.allclose(p1.sum(1), 1)
    assert set(np.unique(model.predict(data))) <= {0, 1}


def test_clone_of_a_fitted_model_is_unfitted():
    data = signal_data(300, 1)
    model = fitted_model("logistic", data)
    copy = clone(model)
    assert model.__sklearn_is_fitted__() and not copy.__sklearn_is_fitted__()
    assert copy.get_params() == model.get_params()


@pytest.mark.parametrize("name", ["gbt", "logistic"])
def test_grid_search_over_a_churn_model_finds_the_signal(name):
    data = signal_data(900, 2)
    grid = {"n_estimators": [20, 40]} if name == "gbt" else {"C": [0.01, 1.0]}
    base = create_model(name, **({"n_jobs": 1, "min_child_samples": 10} if name == "gbt" else {}))
    search = GridSearchCV(base, grid, scoring="roc_auc", cv=StratifiedKFold(3, shuffle=True, random_state=0))
    search.fit(data, data["churned"])
    assert set(search.best_params_) == set(grid)
    assert search.best_score_ > 0.7  # the planted signal: a random score is 0.5
    test = signal_data(500, 3)
    assert roc_auc_score(test["churned"], search.predict_proba(test)[:, 1]) > 0.7
    assert base.__sklearn_is_fitted__() is False  # the search fitted clones


def test_a_model_pickled_before_the_contract_still_loads():
    data = signal_data(300, 4)
    model = fitted_model("logistic", data)
    state = dict(vars(model))
    state["params"] = {k: state.pop(k) for k in model.get_params()}  # the old layout: one params dict
    old = LogisticChurnModel.__new__(LogisticChurnModel)
    old.__setstate__(state)
    assert old.get_params() == model.get_params()
    np.testing.assert_array_equal(old.predict_proba(data), model.predict_proba(data))


# ---- the global random state -----------------------------------------------------------------------
def rng_states():
    return np.random.get_state(), torch.get_rng_state(), random.getstate()


def assert_same_rng_states(a, b):
    assert a[0][0] == b[0][0] and np.array_equal(a[0][1], b[0][1]) and a[0][2:] == b[0][2:]
    assert torch.equal(a[1], b[1]) and a[2] == b[2]


def test_bert_fit_leaves_the_global_rng_alone_and_is_deterministic():
    data = synthetic_sequences(300, seed=7, max_tokens=12)
    np.random.seed(11), torch.manual_seed(11), random.seed(11)
    before = rng_states()
    model = create_model("behaviour_bert", **TINY_BERT).fit(data, data["churned"])
    assert_same_rng_states(before, rng_states())
    again = clone(model).fit(data, data["churned"])
    np.testing.assert_allclose(again.predict_proba(data), model.predict_proba(data), rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def text_model():
    texts = ["great quality fast delivery", "lovely and works", "broken on arrival", "refund refused, awful"] * 8
    ratings = [5, 4, 1, 2] * 8
    before = rng_states()
    encoder = {"epochs": 1, "fine_tune_layers": 1, "max_train_texts": 32, "batch_size": 16}
    model = ReviewSentimentModel(encoder_params=encoder, progress=False)
    model.fit(texts, ratings)
    return model, before, rng_states()


def test_text_fit_leaves_the_global_rng_alone(text_model):
    _, before, after = text_model
    assert_same_rng_states(before, after)


def test_text_model_is_a_classifier_over_texts(text_model):
    model, _, _ = text_model
    texts = ["support never answered", "very happy, thanks", "", None]
    p = model.predict_proba(texts)
    assert p.shape == (4, 2) and np.allclose(p.sum(1), 1)
    np.testing.assert_array_equal(model.predict_bad(texts), p[:, 1])
    np.testing.assert_array_equal(model.predict(texts), (p[:, 1] >= 0.5).astype(int))
    assert model.classes_.tolist() == [0, 1]
    assert clone(model).get_params() == model.get_params() and not clone(model).__sklearn_is_fitted__()
