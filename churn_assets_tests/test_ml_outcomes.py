"""Realized-churn metrics on hand-made risk lists with known answers, and the realized-label query."""

import math
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from churn_assets.defs.assets.monitoring import realized_outcomes
from churn_assets.ml.outcomes import (
    day_outcome,
    plot_realized_trend,
    realized_churn_trend,
    recency_score,
    top_k_precision,
)


def scored_day(as_of="2026-03-01", measurable=True):
    # churners score 0.9, 0.8, 0.3; stayers 0.7, 0.2, 0.1: one of 9 pairs is mis-ordered -> AUC 8/9
    # recency: churners 50, 2, 5 days; stayers 10, 3, 1 -> 6 of 9 pairs right -> AUC 2/3
    df = pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "d", "e", "f"],
            "churn_probability": [0.9, 0.8, 0.3, 0.7, 0.2, 0.1],
            "tier": ["high", "high", "medium", "medium", "low", "low"],
            "churned": [1, 1, 1, 0, 0, 0],
            "days_since_last_order": [50, 2, 5, 10, 3, 1],
        }
    )
    df["as_of_date"] = pd.Timestamp(as_of)
    df["horizon_end"] = pd.Timestamp(as_of) + pd.Timedelta(days=30)
    df["measurable"] = measurable
    df["model_version"] = "3"
    if not measurable:
        df["churned"] = None
    return df


def test_day_outcome_known_answers():
    out = day_outcome(scored_day())
    assert out["n_scored"] == 6 and out["churn_rate"] == 0.5
    assert (out["n_high"], out["n_medium"], out["n_low"]) == (2, 2, 2)
    assert (out["churn_rate_high"], out["churn_rate_medium"], out["churn_rate_low"]) == (1.0, 0.5, 0.0)
    assert out["roc_auc"] == pytest.approx(8 / 9)
    assert out["recency_roc_auc"] == pytest.approx(6 / 9)
    assert out["precision_high"] == 1.0
    # the recency baseline's top 2 (50 and 10 days) hold one churner
    assert out["recency_precision_high"] == 0.5
    assert out["lift_high"] == pytest.approx(2.0)


def test_day_outcome_undefined_values_are_nan():
    day = scored_day()
    day["churned"] = 0
    day["tier"] = ["medium", "medium", "medium", "low", "low", "low"]
    out = day_outcome(day)
    assert math.isnan(out["roc_auc"]) and math.isnan(out["recency_roc_auc"])
    assert math.isnan(out["churn_rate_high"]) and math.isnan(out["precision_high"]) and math.isnan(out["lift_high"])
    assert out["n_high"] == 0 and out["churn_rate"] == 0.0


def test_day_outcome_refuses_pending_rows():
    with pytest.raises(ValueError, match="horizon has not passed"):
        day_outcome(scored_day(measurable=False))


def test_recency_score_ranks_users_without_orders_first():
    assert list(recency_score([3.0, np.nan, 10.0])) == [3.0, 11.0, 10.0]
    assert top_k_precision([0, 1, 1], [5, 1, 3], 2) == 0.5
    assert math.isnan(top_k_precision([0, 1], [1, 2], 0))


def test_trend_lists_pending_days_without_metrics(tmp_path):
    outcomes = pd.concat([scored_day("2026-04-01", measurable=False), scored_day("2026-03-01")])
    trend = realized_churn_trend(outcomes)
    assert list(trend["as_of_date"]) == [date(2026, 3, 1), date(2026, 4, 1)]
    assert list(trend["status"]) == ["measured", "pending"]
    assert trend.loc[0, "roc_auc"] == pytest.approx(8 / 9)
    pending = trend.loc[1]
    assert pending["n_scored"] == 6 and pending["horizon_end"] == date(2026, 5, 1)
    assert pending[["roc_auc", "churn_rate", "precision_high", "recency_roc_auc"]].isna().all()
    png = plot_realized_trend(trend, tmp_path / "trend.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_trend_rejects_a_day_that_is_half_measurable():
    day = scored_day()
    day.loc[0, "measurable"] = False
    with pytest.raises(ValueError, match="measurable"):
        realized_churn_trend(day)


def test_realized_outcomes_query_applies_the_label_rule():
    """Horizon 10 days from 2026-03-01: (03-01, 03-11]. Data ends 03-20, so 03-15 is pending."""
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA intermediate; CREATE SCHEMA scoring")
    con.execute(
        "CREATE TABLE intermediate.data_window AS SELECT DATE '2026-01-01' AS first_date, DATE '2026-03-20' AS last_date"
    )
    orders = [
        ("on_day", "o1", "2026-03-01", True),  # on the as-of day: not in the horizon, counts for recency
        ("at_end", "o2", "2026-03-11", True),  # last day of the horizon: stays
        ("after_end", "o3", "2026-03-12", True),  # one day too late: churned
        ("unpaid", "o4", "2026-03-05", False),  # a cancelled order does not keep a user
        ("unpaid", "o5", "2026-02-20", True),
        ("after_end", "o6", "2026-02-10", True),
    ]
    con.execute("CREATE TABLE staging.orders (user_id VARCHAR, order_id VARCHAR, order_date DATE, is_paid BOOLEAN)")
    con.executemany("INSERT INTO staging.orders VALUES (?, ?, ?, ?)", orders)
    con.execute(
        "CREATE TABLE scoring.risk_list (user_id VARCHAR, as_of_date TIMESTAMP, churn_probability DOUBLE, tier VARCHAR, "
        "model_version VARCHAR)"
    )
    for day in ("2026-03-01", "2026-03-15"):
        for user in ("on_day", "at_end", "after_end", "unpaid"):
            con.execute("INSERT INTO scoring.risk_list VALUES (?, ?, 0.5, 'medium', '1')", [user, day])
    out = realized_outcomes(con, horizon_days=10)
    first = out[out["as_of_date"] == pd.Timestamp("2026-03-01")].set_index("user_id")
    assert first["measurable"].all()
    assert first["churned"].to_dict() == {"after_end": 1, "at_end": 0, "on_day": 1, "unpaid": 1}
    assert first.loc["on_day", "days_since_last_order"] == 0
    assert first.loc["unpaid", "days_since_last_order"] == 9
    assert first.loc["after_end", "days_since_last_order"] == 19
    assert pd.isna(first.loc["at_end", "days_since_last_order"])
    second = out[out["as_of_date"] == pd.Timestamp("2026-03-15")]
    assert not second["measurable"].any() and second["churned"].isna().all()
    assert (second["horizon_end"] == pd.Timestamp("2026-03-25")).all()


def test_realized_outcomes_without_a_risk_list_names_the_asset():
    con = duckdb.connect(":memory:")
    with pytest.raises(RuntimeError, match="scoring/risk_list"):
        realized_outcomes(con, horizon_days=30)
