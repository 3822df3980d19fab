"""Contributions, plain-word reasons, risk tiers and actions (pure Python, no Dagster)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_assets.ml.actions import ACTION_RULES, recommend_action, recommend_actions, rule
from churn_assets.ml.explain import contributions, explain
from churn_assets.ml.models import BGNBDModel, CalibratedModel, create_model
from churn_assets.ml.reasons import NO_SINGLE_FACTOR, kind_of, reason_text, reasons_frame, top_reasons
from churn_assets.ml.tiers import assign_tiers


def make_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "user_id": np.arange(n),
            "as_of_date": pd.Timestamp("2024-03-01"),
            "days_since_last_order": rng.exponential(30, n).round(),
            "mean_gap_days": rng.uniform(10, 40, n).round(),
            "complaints_30d": rng.poisson(0.3, n),
            "late_deliveries_30d": rng.poisson(0.4, n),
            "sessions_trend_7_30": np.exp(rng.normal(0, 0.5, n)),
            "region": rng.choice(["north", "south", "east"], n),
            "noise": rng.normal(size=n),
            "bgnbd_frequency": rng.poisson(3, n).astype(float),
            "bgnbd_T": rng.uniform(100, 300, n).round(),
        }
    )
    d["bgnbd_recency"] = np.where(d["bgnbd_frequency"] > 0, d["bgnbd_T"] * rng.random(n), 0.0).round()
    z = (
        -1.5
        + 1.2 * d["complaints_30d"]
        + 0.9 * d["late_deliveries_30d"]
        - 1.5 * np.log(d["sessions_trend_7_30"])
        + 1.0 * (d["region"] == "south")
    )
    d["churned"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return d


@pytest.fixture(scope="module")
def data():
    return make_data(2000, 0), make_data(400, 1)


@pytest.fixture(scope="module")
def models(data):
    train, _ = data
    y = train["churned"]
    return {
        "logistic": create_model("logistic").fit(train, y),
        "gbt": create_model("gbt", n_estimators=80, num_leaves=7).fit(train, y),
        "recency_rule": create_model("recency_rule").fit(train, y),
        "bgnbd": BGNBDModel().fit(train),
    }


@pytest.mark.parametrize("name", ["logistic", "gbt", "recency_rule", "bgnbd"])
def test_contributions_add_up_to_log_odds(models, data, name):
    _, test = data
    model = models[name]
    c = contributions(model, test, include_bias=True)
    assert list(c.columns) == model.feature_names_ + ["bias"] and c.index.equals(test.index)
    p = model.predict_proba(test)[:, 1]
    np.testing.assert_allclose(c.sum(axis=1), np.log(p / (1 - p)), atol=1e-6)


def test_logistic_contributions_map_one_hot_back_to_source(models, data):
    _, test = data
    c = contributions(models["logistic"], test)
    assert "region" in c.columns and not any(col.startswith("region_") for col in c.columns)
    south = test["region"].to_numpy() == "south"
    assert c.loc[south, "region"].mean() > 0 > c.loc[~south, "region"].mean()


def test_calibrated_model_delegates_contributions(models, data):
    _, test = data
    cal = CalibratedModel(models["gbt"], "sigmoid").calibrate(test, test["churned"])
    pd.testing.assert_frame_equal(contributions(cal, test), contributions(models["gbt"], test))


def test_top_reasons_name_real_features_pushing_risk_up(models, data):
    _, test = data
    reasons = explain(models["logistic"], test, k=3)
    assert len(reasons) == len(test)
    assert all(1 <= len(r) <= 3 for r in reasons)
    for r in reasons:
        assert all(d["feature"] in test.columns and d["contribution"] > 0 for d in r)
        assert [d["contribution"] for d in r] == sorted((d["contribution"] for d in r), reverse=True)
        assert all(isinstance(d["text"], str) and d["text"] for d in r)
    # rows with several complaints: the complaint is the main reason
    heavy = np.flatnonzero(test["complaints_30d"].to_numpy() >= 3)
    assert len(heavy) > 0
    for i in heavy:
        assert reasons[i][0]["feature"] == "complaints_30d"
        assert reasons[i][0]["text"].startswith("filed ") and reasons[i][0]["kind"] == "service"


def test_reason_phrases():
    X = pd.DataFrame(
        {
            "days_since_last_order": [64, 10],
            "mean_gap_days": [21, 9],
            "late_deliveries_30d": [2, 1],
            "complaints_30d": [1, 3],
            "sessions_trend_7_30": [0.4, 1.5],
            "mystery_score": [1.5, np.nan],
            "region": ["south", "north"],
        }
    )
    contrib = pd.DataFrame(
        {
            "days_since_last_order": [3.0, 0.2],
            "late_deliveries_30d": [2.0, 0.4],
            "complaints_30d": [1.0, 0.3],
            "sessions_trend_7_30": [0.5, 0.1],
            "mystery_score": [0.4, 0.5],
            "region_south": [0.3, -1.0],
            "region_north": [0.0, 0.2],
        }
    )
    texts = [[d["text"] for d in r] for r in top_reasons(contrib, X, k=7)]
    assert texts[0][:4] == [
        "no order for 64 days, 3x longer than usual",
        "2 late deliveries in the last 30 days",
        "filed a complaint in the last 30 days",
        "visits dropped by 60% this week vs the monthly average",
    ]
    assert "mystery_score = 1.5" in texts[0]
    assert "region: south" in texts[0]
    # one-hot columns summed onto "region" (-1.0 + 0.2 < 0): not a reason for row 1
    row1 = {d["feature"]: d for d in top_reasons(contrib, X, k=7)[1]}
    assert "region" not in row1 and row1["days_since_last_order"]["text"] == "no order for 10 days"
    assert row1["complaints_30d"]["text"] == "filed 3 complaints in the last 30 days"
    assert row1["late_deliveries_30d"]["text"] == "1 late delivery in the last 30 days"
    assert row1["mystery_score"]["value"] is None
    assert reason_text("sessions_7d", 0) == "no visits in the last 7 days"
    assert reason_text("tag_dormant", 1) == "tagged as dormant"
    assert reason_text("days_since_last_complaint", np.nan) == "no complaint on record"
    assert kind_of("discount_share") == "price" and kind_of("mystery_score") == "other"


def test_complaint_topic_reasons_name_the_topic_and_the_day():
    """A model whose churn comes from delivery complaints gives them as the first reason, dated from the
    as-of date and the age of the latest one."""
    rng = np.random.default_rng(3)
    n = 1500
    as_of = pd.Timestamp("2026-05-15")
    count = rng.poisson(0.4, n)
    d = pd.DataFrame(
        {
            "user_id": np.arange(n),
            "as_of_date": as_of,
            "complaints_delivery_30d": count,
            "days_since_complaint_delivery": np.where(count > 0, rng.integers(0, 30, n), np.nan),
            "complaints_price_30d": rng.poisson(0.2, n),
            "noise": rng.normal(size=n),
        }
    )
    z = -2.0 + 2.0 * d["complaints_delivery_30d"]
    d["churned"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    model = create_model("logistic").fit(d, d["churned"])
    reasons = explain(model, d, k=2)
    for i in np.flatnonzero(count == 1)[:20]:
        first = reasons[i][0]
        day = as_of - pd.Timedelta(days=int(d.loc[i, "days_since_complaint_delivery"]))
        assert first["feature"] == "complaints_delivery_30d" and first["kind"] == "service"
        assert first["text"] == f"complained about delivery on {day.day} {day.strftime('%B')}"
    i = int(np.flatnonzero(count >= 3)[0])
    assert reasons[i][0]["text"].startswith(f"complained {count[i]} times about delivery in the last 30 days, last on")
    ctx = {"days_since_complaint_delivery": 3, "as_of_date": as_of}
    assert reason_text("complaints_delivery_30d", 1, ctx) == "complained about delivery on 12 May"
    assert reason_text("complaints_service_30d", 1, {}) == "complained about customer service in the last 30 days"
    assert reason_text("days_since_complaint_price", 30, {"as_of_date": "2026-05-15"}) == (
        "complained about prices on 15 April"
    )
    assert reason_text("days_since_complaint_refund_return", np.nan) == (
        "no complaint about a refund or return in the last 90 days"
    )
    assert kind_of("complaints_price_30d") == "price" and kind_of("complaints_product_quality_30d") == "service"


def test_top_reasons_respects_k_and_skips_non_positive():
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "c": [5.0, 6.0]})
    contrib = pd.DataFrame({"a": [0.5, -0.1], "b": [0.7, -0.2], "c": [0.1, 0.0], "bias": [9.0, 9.0]})
    out = top_reasons(contrib, X, k=2)
    assert [d["feature"] for d in out[0]] == ["b", "a"] and out[1] == []
    frame = reasons_frame(out, k=2)
    assert frame.loc[0, "reason_1"] == "b = 3" and frame.loc[0, "reason_2"] == "a = 1"
    # nothing pushes row 1 up: it is said in words, and no feature is named
    assert frame.loc[1, "reason_1"] == NO_SINGLE_FACTOR and frame.loc[1, "reason_2"] is None
    assert frame.loc[0, "reason_features"] == "b,a" and frame.loc[1, "reason_features"] == ""


def test_tiers_by_probability():
    p = np.array([0.95, 0.6, 0.59, 0.3, 0.29, 0.0])
    assert list(assign_tiers(p)) == ["high", "high", "medium", "medium", "low", "low"]
    assert list(assign_tiers(p, "probability", high=0.9, medium=0.5)) == [
        "high",
        "medium",
        "medium",
        "low",
        "low",
        "low",
    ]
    with pytest.raises(ValueError):
        assign_tiers(p, "probability", high=0.2, medium=0.5)


def test_tiers_by_share():
    rng = np.random.default_rng(0)
    p = rng.random(200)
    t = assign_tiers(p, "share")
    assert (t == "high").sum() == 20 and (t == "medium").sum() == 40 and (t == "low").sum() == 140
    assert p[t == "high"].min() > p[t == "medium"].max() > p[t == "low"].max()
    t2 = assign_tiers(p, {"rule": "share", "high": 0.05, "medium": 0.05})
    assert (t2 == "high").sum() == 10 and (t2 == "medium").sum() == 10
    with pytest.raises(ValueError):
        assign_tiers(p, "share", high=0.7, medium=0.5)


def test_actions_follow_the_rule_table():
    complaint = [{"feature": "complaints_30d", "kind": "service"}]
    assert recommend_action("high", complaint) == "service follow-up call"
    assert recommend_action("high", ["late_deliveries_30d"]) == "service follow-up call"
    assert recommend_action("high", ["discount_share"]) == "personal coupon"
    assert recommend_action("high", ["discount_share", "complaints_30d"]) == "service follow-up call"
    assert recommend_action("high", ["sessions_trend_7_30"]) == "personalised recommendations e-mail"
    assert recommend_action("medium", ["sessions_trend_7_30"]) == "personalised recommendations e-mail"
    assert recommend_action("medium", ["days_since_last_order"]) == "loyalty reminder"
    assert recommend_action("medium", complaint) == "loyalty reminder"
    assert recommend_action("low", complaint) == "no action"
    assert recommend_action("high", []) == "personal coupon"
    custom = (rule({"low"}, {"service"}, "apology e-mail"),) + ACTION_RULES
    assert recommend_action("low", complaint, rules=custom) == "apology e-mail"
    assert recommend_actions(["high", "low"], [complaint, complaint]) == ["service follow-up call", "no action"]


def test_end_to_end_reasons_and_actions_from_a_model(models, data):
    _, test = data
    p = models["gbt"].predict_proba(test)[:, 1]
    tiers = assign_tiers(p, "share")
    reasons = explain(models["gbt"], test, k=3)
    actions = recommend_actions(list(tiers), reasons)
    assert set(actions) <= {r.action for r in ACTION_RULES}
    assert all(a == "no action" for a, t in zip(actions, tiers, strict=False) if t == "low")
    assert any(a == "service follow-up call" for a in actions)
