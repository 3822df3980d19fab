"""The review-text assets: without enough rated reviews the model is skipped (empty score table, no saved
model); the saved model scores reviews that arrive after training in the daily run."""

from datetime import datetime, time

import dagster as dg
import duckdb
import pytest

from churn_assets.defs.assets.text import new_review_scores, review_negativity, time_holdout
from churn_assets.defs.resources import DataDirectory, DuckDBWarehouse, MlflowTracking
from churn_assets.ingest.store import ensure_tables
from churn_assets.ml.complaint_topics import TOPICS, complaint_topic
from churn_assets.ml.text import ReviewSentimentModel
from churn_assets.warehouse.contract import SOURCES
from churn_assets.warehouse.scoring_features import point_in_time_features
from churn_assets.warehouse.sql_project import load_models, run_model
from churn_assets_tests.pipeline_fixtures import SMALL_TEXT_MODEL, data_dir_env, make_shop, run_job

COMPLAINT = "Parcel arrived broken and support never answered my emails. Terrible, I want a refund."


def add_raw_review(con, user_id: str, ts: datetime, rating, text: str, kind: str) -> None:
    """One review as if ingested from a landing file of its day."""
    con.execute(
        "INSERT INTO raw.reviews (user_id, ts, rating, text, order_id, kind, _partition_date, _source_file, "
        "_source_line, _ingested_at) VALUES (?, ?, ?, ?, NULL, ?, ?, 'test', 1, now())",
        [user_id, ts, rating, text, kind, ts.date()],
    )


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
            "data_dir": DataDirectory(path=str(tmp_path)),
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


def test_without_a_saved_model_new_reviews_are_skipped(tmp_path):
    """A skipped text model removes an older saved model (it did not write this table); the daily scorer
    then does nothing and says why, and the review keeps a neutral (missing) text score."""
    db = tmp_path / "churn.duckdb"
    with duckdb.connect(str(db)) as con:
        for spec in SOURCES.values():
            ensure_tables(con, spec)
        add_raw_review(con, "u1", datetime(2026, 3, 2, 10), 1, COMPLAINT, "complaint")
        run_model(con, load_models()["staging.reviews"], {"until_date": ""})
    stale = tmp_path / "models" / "review_text"
    stale.mkdir(parents=True)
    (stale / "text_model.json").write_text("{}")  # an earlier run's model
    result = dg.materialize(
        [review_negativity, new_review_scores],
        resources={
            "duckdb": DuckDBWarehouse(path=str(db)),
            "mlflow": MlflowTracking(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"),
            "data_dir": DataDirectory(path=str(tmp_path)),
        },
    )
    assert result.success
    assert not stale.exists()
    meta = result.asset_materializations_for_node("ml__new_review_scores")[0].metadata
    assert "no saved review-text model" in meta["skipped"].value
    assert meta["unscored_reviews"].value == 1
    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT count(*) FROM ml.review_negativity").fetchall() == [(0,)]


@pytest.mark.slow  # ~2 min on two busy cores: build with the small text model, train, one daily run
def test_daily_run_scores_a_complaint_that_arrived_after_training(tmp_path):
    with data_dir_env(tmp_path):
        shop = make_shop(tmp_path, n_users=400)
        shop.ingest()
        # ~100 rated reviews train here: SMALL_TEXT_MODEL's single pass barely learns from so few
        # (held-out AUC ~0.55); four passes over two layers read them well (~0.95) in seconds
        text = {**SMALL_TEXT_MODEL, "epochs": 4, "fine_tune_layers": 2, "batch_size": 8}
        run_job(shop.defs, "build_job", shop.instance, run_config={"ops": {"ml__review_negativity": {"config": text}}})
        shop.train(["logistic"])
        model_dir = tmp_path / "models" / "review_text"
        assert (model_dir / "text_model.json").exists()
        # the saved model holds weights and parameters, never a review's text
        texts = shop.query("SELECT DISTINCT text FROM staging.reviews WHERE length(text) > 30")["text"]
        saved = [f.read_bytes() for f in model_dir.rglob("*") if f.is_file()]
        assert len(texts) > 50 and not any(t.encode() in data for t in texts for data in saved)
        key = ["user_id", "ts", "kind"]
        before = shop.query("SELECT * FROM ml.review_negativity ORDER BY user_id, ts, kind")
        scored_texts = shop.query(
            "SELECT r.rating, n.p_negative FROM staging.reviews AS r JOIN ml.review_negativity AS n "
            "USING (user_id, ts, kind) WHERE r.rating IS NOT NULL"
        )
        day = shop.days()[-1]
        # a customer with a recent paid order, who complains on the scored day
        user = shop.query("SELECT user_id FROM staging.orders WHERE status = 'paid' ORDER BY ts DESC, user_id LIMIT 1")[
            "user_id"
        ][0]
        with duckdb.connect(str(shop.db)) as con:
            add_raw_review(con, user, datetime.combine(day, time(9, 30)), None, COMPLAINT, "complaint")

        result = run_job(shop.defs, "daily_score_job", shop.instance, tags={"dagster/partition": day.isoformat()})
        meta = result.asset_materializations_for_node("ml__new_review_scores")[0].metadata
        assert meta["new_reviews"].value == 1

        after = shop.query("SELECT * FROM ml.review_negativity ORDER BY user_id, ts, kind")
        assert len(after) == len(before) + 1
        merged = after.merge(before, on=key, how="left", suffixes=("", "_before"), indicator=True)
        new = merged[merged["_merge"] == "left_only"]
        assert new["user_id"].tolist() == [user] and new["kind"].tolist() == ["complaint"]
        old = merged[merged["_merge"] == "both"]
        assert len(old) == len(before) and (old["p_negative"] == old["p_negative_before"]).all()  # untouched
        # the complaint reads as a bad experience: above what the model gives nearly every good review
        p_new = float(new["p_negative"].iloc[0])
        assert ReviewSentimentModel.load(model_dir).predict_bad([COMPLAINT])[0] == pytest.approx(p_new, abs=1e-6)
        good = scored_texts.loc[scored_texts["rating"] >= 4, "p_negative"]
        assert p_new > good.quantile(0.9), (p_new, good.describe())
        # and the day's features, which the risk list read, see it
        with duckdb.connect(str(shop.db)) as con:
            features = point_in_time_features(con, day, shop.defs.resources["settings"].sql_params())
        row = features.set_index("user_id").loc[user]
        assert row["text_neg_max_30d"] == pytest.approx(p_new)
        # the complaint's topic is stored and counted in the day's features; texts that are neither complaints
        # nor read as bad have none
        topic = complaint_topic(COMPLAINT)
        assert topic == "service" and new["topic"].tolist() == [topic]
        assert row[f"complaints_{topic}_30d"] >= 1 and row[f"days_since_complaint_{topic}"] == 0
        flagged = (after["kind"] == "complaint") | (after["p_negative"] >= 0.5)
        assert after["topic"].notna().tolist() == flagged.tolist() and flagged.sum() > 10
        assert set(after["topic"].dropna()) <= set(TOPICS) and after["topic"].nunique() >= 3
        assert shop.listed(day) > 0

        # nothing left to score: a second run adds no row
        again = dg.materialize(
            [new_review_scores],
            resources={
                "duckdb": DuckDBWarehouse(path=str(shop.db)),
                "data_dir": DataDirectory(path=str(shop.base)),
            },
        )
        assert again.asset_materializations_for_node("ml__new_review_scores")[0].metadata["new_reviews"].value == 0
        assert len(shop.query("SELECT * FROM ml.review_negativity")) == len(after)
