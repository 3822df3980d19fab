"""Churn models on synthetic data with a known signal (pure Python, no Dagster)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from churn_assets.ml.models import (
    MODEL_REGISTRY,
    BGNBDModel,
    CalibratedModel,
    ChurnModel,
    available_models,
    create_model,
    load_model,
    register_lazy,
    register_model,
)
from churn_assets.ml.models.bgnbd import fit_bgnbd


def make_data(n: int, seed: int, signal: str = "service") -> pd.DataFrame:
    """Feature table with churn driven by service/engagement/region ("service") or by recency ("recency")."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "as_of_date": pd.Timestamp("2024-03-01"),
            "days_since_last_order": rng.exponential(30, n).round(),
            "mean_gap_days": rng.uniform(10, 40, n),
            "complaints_30d": rng.poisson(0.3, n),
            "late_deliveries_30d": rng.poisson(0.4, n),
            "sessions_trend_7_30": np.exp(rng.normal(0, 0.5, n)),
            "region": rng.choice(["north", "south", "east"], n),
            "noise": rng.normal(size=n),
        }
    )
    d["recency_over_typical_gap"] = d["days_since_last_order"] / d["mean_gap_days"]
    if signal == "service":
        z = (
            -1.0
            + 1.2 * d["complaints_30d"]
            + 0.9 * d["late_deliveries_30d"]
            - 1.5 * np.log(d["sessions_trend_7_30"])
            + 1.0 * (d["region"] == "south")
        )
    else:
        z = -3.0 + 1.2 * np.log1p(d["days_since_last_order"])
    d["churned"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    d.loc[rng.random(n) < 0.1, "sessions_trend_7_30"] = np.nan  # missing values must be handled
    return d


@pytest.fixture(scope="module")
def service_data():
    return make_data(2500, 0), make_data(1500, 1)


@pytest.fixture(scope="module")
def fitted(service_data):
    train, _ = service_data
    return {
        "recency_rule": create_model("recency_rule").fit(train, train["churned"]),
        "logistic": create_model("logistic").fit(train, train["churned"]),
        "gbt": create_model("gbt", n_estimators=200, num_leaves=7, min_child_samples=40).fit(train, train["churned"]),
    }


def auc(model, df) -> float:
    return roc_auc_score(df["churned"], model.predict_proba(df)[:, 1])


# ---- registry -----------------------------------------------------------------------------
def test_registry_lists_and_creates_models():
    assert {"recency_rule", "bgnbd", "logistic", "gbt"} <= set(available_models())
    m = create_model("gbt", n_estimators=7)
    assert m.name == "gbt" and m.params["n_estimators"] == 7
    with pytest.raises(KeyError):
        create_model("no_such_model")
    with pytest.raises(TypeError):
        create_model("logistic", not_a_param=1)


def test_register_new_model_with_one_decorator():
    @register_model("test_constant")
    class Constant(ChurnModel):
        default_params = {"features": None, "exclude": [], "value": 0.25}

        def _fit(self, X, y, eval_set):
            pass

        def _predict_p1(self, X):
            return np.full(len(X), self.params["value"])

    try:
        df = make_data(50, 3)
        p = create_model("test_constant", value=0.4).fit(df, df["churned"]).predict_proba(df)
        assert p.shape == (50, 2) and np.allclose(p[:, 1], 0.4) and np.allclose(p.sum(1), 1)
        register_lazy("test_lazy", "churn_assets.ml.models.logistic:LogisticChurnModel")
        assert "test_lazy" in available_models()
        assert type(create_model("test_lazy")).__name__ == "LogisticChurnModel"
    finally:
        MODEL_REGISTRY.pop("test_constant", None)
        MODEL_REGISTRY.pop("test_lazy", None)


# ---- learning -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["logistic", "gbt"])
def test_models_learn_and_beat_trivial_scores(fitted, service_data, name):
    _, test = service_data
    score = auc(fitted[name], test)
    assert score > 0.71
    rng = np.random.default_rng(0)
    assert score > roc_auc_score(test["churned"], rng.random(len(test))) + 0.15
    single = [c for c in test.columns if c not in ("user_id", "as_of_date", "churned", "region")]
    best_single = max(
        max(a, 1 - a) for a in (roc_auc_score(test["churned"], test[c].fillna(test[c].median())) for c in single)
    )
    assert score > best_single + 0.03


def test_gbt_beats_recency_rule_when_signal_is_not_recency(fitted, service_data):
    _, test = service_data
    assert auc(fitted["gbt"], test) > auc(fitted["recency_rule"], test) + 0.15


def test_recency_rule_learns_recency_signal_monotonically():
    train, test = make_data(2000, 4, "recency"), make_data(1000, 5, "recency")
    m = create_model("recency_rule", use_ratio=False).fit(train, train["churned"])
    assert m.feature_names_ == ["days_since_last_order"]
    assert auc(m, test) > 0.68
    grid = pd.DataFrame({"days_since_last_order": [0, 1, 5, 20, 60, 200, 1000]})
    p = m.predict_proba(grid)[:, 1]
    assert np.all(np.diff(p) > 0)


def test_logistic_recovers_coefficient_signs(fitted):
    coef = fitted["logistic"].coef_
    assert coef["complaints_30d"] > 0.3
    assert coef["late_deliveries_30d"] > 0.3
    assert coef["sessions_trend_7_30"] < -0.3
    assert abs(coef["noise"]) < 0.15
    assert coef["region_south"] > coef["region_north"] and coef["region_south"] > coef["region_east"]


def test_gbt_early_stopping_and_determinism(service_data):
    train, valid = service_data
    kw = dict(n_estimators=400, learning_rate=0.3, early_stopping_rounds=10, seed=3)
    m1 = create_model("gbt", **kw).fit(train, train["churned"], eval_set=(valid, valid["churned"]))
    m2 = create_model("gbt", **kw).fit(train, train["churned"], eval_set=(valid, valid["churned"]))
    assert m1.best_iteration_ < 400
    np.testing.assert_array_equal(m1.predict_proba(valid), m2.predict_proba(valid))
    m3 = create_model("gbt", **{**kw, "seed": 4}).fit(train, train["churned"], eval_set=(valid, valid["churned"]))
    assert not np.array_equal(m1.predict_proba(valid), m3.predict_proba(valid))


def test_predict_handles_unseen_category_missing_and_extra_columns(fitted, service_data):
    _, test = service_data
    odd = test.head(20).copy()
    odd["region"] = ["atlantis"] * 10 + [None] * 10
    odd["brand_new_column"] = 1.0
    for name in ("logistic", "gbt"):
        p = fitted[name].predict_proba(odd)[:, 1]
        assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    with pytest.warns(UserWarning, match="missing"):
        p = fitted["logistic"].predict_proba(odd.drop(columns=["complaints_30d"]))
    assert np.isfinite(p).all()


def test_feature_selection_params(service_data):
    train, _ = service_data
    pinned = create_model("logistic", features=["complaints_30d", "region"]).fit(train, train["churned"])
    assert pinned.feature_names_ == ["complaints_30d", "region"]
    assert pinned.categorical_features_ == ["region"]
    auto = create_model("gbt", n_estimators=5, exclude=["noise"]).fit(train, train["churned"])
    assert "noise" not in auto.feature_names_ and "churned" not in auto.feature_names_
    assert "user_id" not in auto.feature_names_ and "as_of_date" not in auto.feature_names_
    with pytest.raises(KeyError):
        create_model("logistic", features=["not_there"]).fit(train, train["churned"])


def test_bad_labels_are_rejected(service_data):
    train, _ = service_data
    with pytest.raises(ValueError):
        create_model("logistic").fit(train, np.full(len(train), 2))
    with pytest.raises(ValueError):
        create_model("gbt").fit(train, np.zeros(len(train)))


# ---- save / load --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["recency_rule", "logistic", "gbt", "calibrated"])
def test_save_load_round_trip(fitted, service_data, tmp_path, name):
    train, test = service_data
    if name == "calibrated":
        model = CalibratedModel(fitted["gbt"], method="isotonic").calibrate(test, test["churned"])
    else:
        model = fitted[name]
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.feature_names_ == model.feature_names_
    assert loaded.params == model.params
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))
    pd.testing.assert_frame_equal(loaded.contributions(test), model.contributions(test))
    with pytest.raises(TypeError):
        BGNBDModel.load(tmp_path / "m")


# ---- BG/NBD -------------------------------------------------------------------------------
def simulate_bgnbd(n, r, alpha, a, b, horizon, seed):
    """Vectorised BG/NBD simulation: returns x, t_x, T (days) and purchases in (T, T+horizon]."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    k = rng.geometric(p)  # repeat purchases made before dropping out
    T = rng.uniform(120, 365, n).round()
    m = int(min(k.max(), 300))
    times = np.cumsum(rng.exponential(1.0, (n, m)) / lam[:, None], axis=1)
    alive = np.arange(1, m + 1)[None, :] <= k[:, None]
    x = (alive & (times <= T[:, None])).sum(1)
    t_x = np.where(x > 0, np.take_along_axis(times, np.maximum(x - 1, 0)[:, None], 1)[:, 0], 0.0)
    hold = (alive & (times > T[:, None]) & (times <= T[:, None] + horizon)).sum(1)
    return x.astype(float), t_x, T, hold


@pytest.fixture(scope="module")
def bgnbd_sim():
    truth = {"r": 0.5, "alpha": 20.0, "a": 1.2, "b": 3.0}
    x, t_x, T, hold = simulate_bgnbd(6000, **truth, horizon=30, seed=11)
    df = pd.DataFrame(
        {
            "user_id": np.arange(len(x)),
            "as_of_date": pd.Timestamp("2024-01-01"),
            "bgnbd_frequency": x,
            "bgnbd_recency": t_x,
            "bgnbd_T": T,
            "churned": (hold == 0).astype(int),
        }
    )
    return truth, df, hold


def test_bgnbd_recovers_known_parameters(bgnbd_sim):
    truth, df, hold = bgnbd_sim
    m = BGNBDModel(horizon_days=30).fit(df)
    for key, tol in (("r", 0.2), ("alpha", 0.2), ("a", 0.3), ("b", 0.3)):
        assert abs(getattr(m, key) - truth[key]) / truth[key] < tol, (key, m.fitted_params_)
    # the fitted model predicts the hold-out period
    p = m.predict_proba(df)[:, 1]
    assert abs(p.mean() - (hold == 0).mean()) < 0.02
    assert abs(m.expected_purchases(30, df).mean() - hold.mean()) < 0.15 * hold.mean()
    assert roc_auc_score(df["churned"], p) > 0.75
    pa = m.p_alive(df)
    assert ((pa >= 0) & (pa <= 1)).all() and np.all(pa[df["bgnbd_frequency"].to_numpy() == 0] == 1)
    # more recent last purchase (same x, T) -> more likely alive
    assert m.p_alive(x=[3, 3], t_x=[50, 150], T=[200, 200])[1] > m.p_alive(x=[3, 3], t_x=[50, 150], T=[200, 200])[0]


def test_bgnbd_fits_one_row_per_user_and_ignores_labels(bgnbd_sim):
    _, df, _ = bgnbd_sim
    small = df.head(1500)
    older = small.assign(
        as_of_date=pd.Timestamp("2023-12-01"),
        bgnbd_T=small["bgnbd_T"] - 30,
        bgnbd_recency=np.minimum(small["bgnbd_recency"], small["bgnbd_T"] - 30),
    )
    both = pd.concat([older, small], ignore_index=True)
    m = BGNBDModel().fit(both)
    assert m.fit_info_["n_rows"] == 1500
    direct = fit_bgnbd(small["bgnbd_frequency"], small["bgnbd_recency"], small["bgnbd_T"])
    assert m.r == pytest.approx(direct["r"], rel=1e-3) and m.b == pytest.approx(direct["b"], rel=1e-3)
    with pytest.raises(KeyError):
        BGNBDModel().fit(df.drop(columns=["bgnbd_T"]))


def test_bgnbd_save_load_round_trip(bgnbd_sim, tmp_path):
    _, df, _ = bgnbd_sim
    m = BGNBDModel(horizon_days=14).fit(df.head(2000))
    loaded = load_model(m.save(tmp_path / "bg"))
    assert isinstance(loaded, BGNBDModel) and loaded.fitted_params_ == m.fitted_params_
    np.testing.assert_array_equal(loaded.predict_proba(df), m.predict_proba(df))
    # a longer horizon can only make "no purchase" less likely
    longer = BGNBDModel(horizon_days=60).fit(df.head(2000))
    assert np.all(longer.predict_proba(df)[:, 1] <= m.predict_proba(df)[:, 1] + 1e-12)


# ---- calibration --------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibration_improves_brier_of_miscalibrated_model(method):
    data = make_data(6000, 7)
    data["churned"] = np.where(np.random.default_rng(1).random(len(data)) < 0.6, 0, data["churned"])
    train, valid, test = data.iloc[:3000], data.iloc[3000:4500], data.iloc[4500:]
    # class_weight="balanced" inflates probabilities on an imbalanced problem: miscalibrated on purpose
    base = create_model("logistic", class_weight="balanced").fit(train, train["churned"])
    cal = CalibratedModel(base, method=method).calibrate(valid, valid["churned"])
    raw_brier = brier_score_loss(test["churned"], base.predict_proba(test)[:, 1])
    cal_brier = brier_score_loss(test["churned"], cal.predict_proba(test)[:, 1])
    assert cal_brier < raw_brier - 0.01
    assert auc(cal, test) > auc(base, test) - 0.02
    assert cal.params["base_model"] == "logistic" and cal.params["method"] == method
