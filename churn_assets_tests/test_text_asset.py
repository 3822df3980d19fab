"""The review-text asset without enough rated reviews: skipped with a note, an empty score table."""

import dagster as dg
import duckdb

from churn_assets.assets.text import review_negativity, time_holdout
from churn_assets.contract import SOURCES
from churn_assets.ingest.store import ensure_tables
from churn_assets.resources import DuckDBWarehouse, MlflowTracking
from churn_assets.sql_project import load_models, run_model


def test_orders_only_shop_skips_the_text_model(tmp_path):
    db = tmp_path / "churn.duckdb"
    with duckdb.connect(str(db)) as con:
        for spec in SOURCES.values():
            ensure_tables(con, spec)
        run_model(con, load_models()["staging.reviews"], {"until_date": ""})
    result = dg.materialize(
        [review_negativity],
        resources={
            "duckdb": DuckDBWarehouse(path=str(db)),
            "mlflow": MlflowTracking(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"),
        },
    )
    assert result.success
    meta = result.asset_materializations_for_node("ml__review_negativity")[0].metadata
    assert "rated reviews" in meta["skipped"].value
    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT count(*) FROM ml.review_negativity").fetchall() == [(0,)]


def test_time_holdout_keeps_the_newest_reviews_for_evaluation():
    import pandas as pd

    rated = pd.DataFrame({"ts": pd.date_range("2026-01-01", periods=10, freq="D")[::-1], "rating": range(10)})
    train, test = time_holdout(rated, 0.3)
    assert len(train) == 7 and len(test) == 3
    assert train["ts"].max() < test["ts"].min()
