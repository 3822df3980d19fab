"""Realized-churn monitoring on a small simulated shop: a risk list scored early, measured once its horizon passed."""

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from churn_assets_tests.pipeline_fixtures import data_dir_env, make_shop, run_job

pytestmark = pytest.mark.slow


def test_realized_churn_of_an_early_risk_list(tmp_path):
    with data_dir_env(tmp_path):
        shop = make_shop(tmp_path, n_users=900, n_days=150, seed=5)
        shop.ingest()
        shop.build()
        shop.train(models=["logistic", "gbt"])
        # the newest labelled as-of date: its horizon lies inside the data; the last day's does not
        early = shop.query("SELECT max(as_of_date) AS d FROM labels.churn_labels")["d"][0].date()
        last = shop.days()[-1]
        # tiers by top shares: every tier is filled whatever the small shop's calibrated probabilities reach
        shares = {"ops": {"scoring__risk_list": {"config": {"tier_rule": "share"}}}}
        for day in (early, last):
            run_job(
                shop.defs, "score_job", shop.instance, tags={"dagster/partition": day.isoformat()}, run_config=shares
            )
        result = run_job(shop.defs, "monitoring_job", shop.instance)

    trend = shop.query("SELECT * FROM monitoring.realized_churn ORDER BY as_of_date")
    assert list(trend["as_of_date"].dt.date) == [early, last]
    assert list(trend["status"]) == ["measured", "pending"]
    measured = trend.iloc[0]
    assert pd.isna(trend.iloc[1]["roc_auc"]) and trend.iloc[1]["n_scored"] > 0

    # the realized labels are the training labels' rule: same users, same outcome
    risk = shop.query("SELECT user_id, churn_probability, tier FROM scoring.risk_list WHERE as_of_date = ?", [early])
    labels = shop.query("SELECT user_id, churned FROM labels.churn_labels WHERE as_of_date = ?", [early])
    joined = risk.merge(labels, on="user_id", validate="one_to_one")
    assert len(joined) == len(risk) == measured["n_scored"]
    assert measured["roc_auc"] == pytest.approx(roc_auc_score(joined["churned"], joined["churn_probability"]))
    rates = joined.groupby("tier")["churned"].mean()
    assert measured["churn_rate_high"] == pytest.approx(rates["high"])
    assert measured["churn_rate_low"] == pytest.approx(rates["low"])
    assert measured["churn_rate_high"] > measured["churn_rate_medium"] > measured["churn_rate_low"]
    assert measured["precision_high"] == pytest.approx(rates["high"])
    assert measured["roc_auc"] > 0.6

    recency = shop.query("SELECT user_id, days_since_last_order FROM marts.user_features WHERE as_of_date = ?", [early])
    with_recency = joined.merge(recency, on="user_id")
    expected = roc_auc_score(with_recency["churned"], with_recency["days_since_last_order"])
    assert measured["recency_roc_auc"] == pytest.approx(expected)

    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["pending_days"].value == [str(last)]
    assert "data:image/png;base64," in metadata["plot_realized_churn"].value
    assert "| as_of_date" in metadata["trend"].value
