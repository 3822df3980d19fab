"""champion_alias_sensor and drift_sensor, evaluated with Dagster's test contexts; one slow end-to-end test in which
a drifted partition of a small scored shop makes drift_sensor request retraining."""

from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from churn_assets.defs.assets.drift import DRIFT, ensure_drift_table
from churn_assets.defs.build import build_definitions
from churn_assets.defs.resources import DuckDBWarehouse, MlflowTracking
from churn_assets.ingest.store import ensure_tables
from churn_assets.warehouse.contract import SOURCES
from churn_assets_tests.pipeline_fixtures import data_dir_env
from churn_assets_tests.sensor_helpers import evaluate_sensor, repository, sensor

# ---------------------------------------------------------------- champion_alias_sensor


def warehouse_with_scores(path: Path, newest_day: date, scored_version: str) -> DuckDBWarehouse:
    with duckdb.connect(str(path)) as con:
        for spec in SOURCES.values():
            ensure_tables(con, spec)
        for i, accepted in ((2, 5), (1, 5), (0, 0)):  # the newest log row accepted nothing: not a data day
            day = newest_day - timedelta(days=i - 1)
            con.execute(
                "INSERT INTO raw.ingest_log (kind, partition_date, files, read, accepted, rejected, duplicates, ingested_at) "
                "VALUES ('orders', ?, 1, ?, ?, 0, 0, now())",
                [day, accepted, accepted],
            )
        con.execute("CREATE SCHEMA scoring")
        con.execute(
            "CREATE TABLE scoring.risk_list AS "
            "SELECT 'u1' AS user_id, CAST(? AS DATE) AS as_of_date, ? AS model_version",
            [newest_day, scored_version],
        )
    return DuckDBWarehouse(path=str(path))


def test_alias_move_rescoring_the_newest_day(tmp_path):
    from mlflow import MlflowClient

    tracking = MlflowTracking(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_location=(tmp_path / "art").as_uri()
    )
    warehouse = warehouse_with_scores(tmp_path / "churn.duckdb", date(2026, 6, 29), scored_version="1")

    def evaluate(cursor):
        return evaluate_sensor(
            sensor("champion_alias_sensor"),
            cursor=cursor,
            repository_def=repository(),
            resources={"duckdb": warehouse, "mlflow": tracking},
        )

    with data_dir_env(tmp_path):
        assert "no model has the alias" in evaluate(None).skip_message
        client = MlflowClient(tracking.resolved_uri())
        client.create_registered_model("churn_model")
        v1 = client.create_model_version("churn_model", source=(tmp_path / "m1").as_uri())
        v2 = client.create_model_version("churn_model", source=(tmp_path / "m2").as_uri())
        client.set_registered_model_alias("churn_model", "champion", v1.version)
        # first look: version 1 already scored the newest day -> nothing to do, cursor remembers it
        data = evaluate(None)
        assert not data.run_requests and data.cursor == "1"
        assert not evaluate("1").run_requests
        # the alias moves: the newest day with data is re-scored by the daily job
        client.set_registered_model_alias("churn_model", "champion", v2.version)
        data = evaluate("1")
        [request] = data.run_requests
        assert request.partition_key == "2026-06-29"
        assert request.tags["churn/champion_version"] == "2"
        assert data.cursor == "2"
        assert sensor("champion_alias_sensor").job_name == "daily_score_job"
        assert not evaluate("2").run_requests


# ---------------------------------------------------------------- drift_sensor (monitoring.drift rows)


def write_drift(path: Path, day: date, figures: dict[str, float], computed_at: datetime) -> DuckDBWarehouse:
    with duckdb.connect(str(path)) as con:
        ensure_drift_table(con)
        con.execute(f"DELETE FROM {DRIFT} WHERE as_of_date = ?", [day])
        for column, value in figures.items():
            kind = "score" if column == "churn_probability" else "feature"
            con.execute(
                f"INSERT INTO {DRIFT} (as_of_date, kind, column_name, psi, model_version, computed_at) "
                "VALUES (?, ?, ?, ?, '1', ?)",
                [day, kind, column, value, computed_at],
            )
    return DuckDBWarehouse(path=str(path))


def test_drift_sensor_requests_retraining_only_above_the_threshold(tmp_path, monkeypatch):
    db = tmp_path / "churn.duckdb"
    evaluate = lambda cursor: evaluate_sensor(  # noqa: E731
        sensor("drift_sensor"), cursor=cursor, resources={"duckdb": DuckDBWarehouse(path=str(db))}
    )
    assert "no drift measured" in evaluate(None).skip_message
    t0 = datetime(2026, 6, 30, 7, 0)
    write_drift(db, date(2026, 6, 29), {"churn_probability": 0.03, "orders_90d": 0.12, "amount_mean": 0.05}, t0)
    calm = evaluate(None)
    assert not calm.run_requests and "no PSI above 0.2" in calm.skip_message
    write_drift(db, date(2026, 6, 30), {"churn_probability": 0.31, "orders_90d": 0.45, "amount_mean": 0.05}, t0)
    data = evaluate(calm.cursor)
    [request] = data.run_requests
    assert sensor("drift_sensor").job_name == "retrain_job"
    assert request.tags["churn/drift_partition"] == "2026-06-30"
    assert float(request.tags["churn/psi_max"]) == pytest.approx(0.45)
    assert request.tags["churn/psi_max_column"] == "orders_90d"
    assert float(request.tags["churn/psi_score"]) == pytest.approx(0.31)
    assert request.tags["churn/psi_drifted"] == "orders_90d,churn_probability"
    # the same measurement is not acted on twice
    assert not evaluate(data.cursor).run_requests
    # the threshold is configurable
    monkeypatch.setenv("CHURN_DRIFT_PSI_THRESHOLD", "0.5")
    write_drift(db, date(2026, 6, 30), {"churn_probability": 0.31, "orders_90d": 0.45}, t0 + timedelta(hours=1))
    assert not evaluate(data.cursor).run_requests


# ---------------------------------------------------------------- drift end to end on a small shop


@pytest.fixture(scope="module")
def scored_shop(tmp_path_factory):
    """A small shop ingested, built (no text model), trained (logistic) and scored through the daily job on
    the training window's as-of date, so that day's population is the reference's own."""
    from churn_assets.defs.resources import PipelineSettings
    from churn_assets.simulate import ShopConfig, simulate_shop
    from churn_assets_tests.pipeline_fixtures import Shop, run_job

    base = tmp_path_factory.mktemp("drift_shop")
    with data_dir_env(base):
        simulate_shop(base, ShopConfig(n_users=400, n_days=100, seed=11))
        # short horizon and one test / valid date: a training window exists after 100 days
        settings = PipelineSettings(horizon_days=14, min_history_days=56, n_test_dates=1, n_valid_dates=1)
        shop = Shop(base, build_definitions(base, settings=settings), dg.DagsterInstance.ephemeral())
        shop.ingest()
        no_text = {"ops": {"ml__review_negativity": {"config": {"enabled": False}}}}
        run_job(shop.defs, "build_job", shop.instance, run_config=no_text)
        shop.train(["logistic"])
        day = shop.query("SELECT max(as_of_date) AS d FROM marts.training_set WHERE split = 'train'")["d"][0].date()
        run_job(shop.defs, "daily_score_job", shop.instance, tags={"dagster/partition": day.isoformat()})
        yield shop, day


@pytest.mark.slow
def test_a_drifted_partition_triggers_a_retraining_request(scored_shop):
    shop, day = scored_shop
    warehouse = DuckDBWarehouse(path=str(shop.db))

    def evaluate(cursor):
        return evaluate_sensor(sensor("drift_sensor"), cursor=cursor, resources={"duckdb": warehouse})

    drift = shop.query(f"SELECT * FROM {DRIFT} WHERE as_of_date = ?", [day])
    assert set(drift["kind"]) == {"score", "feature"}
    assert {"days_since_last_order", "amount_sum_90d", "orders_90d"} <= set(drift["column_name"])
    # the day is the training window itself: same rows, same model -> no drift, no request
    assert drift["psi"].max() < 0.01
    calm = evaluate(None)
    assert not calm.run_requests and calm.cursor

    # the shop's order amounts quadruple: re-ingested rows of every day, then the daily job for the same day
    with duckdb.connect(str(shop.db)) as con:
        con.execute("UPDATE raw.orders SET amount = amount * 4")
    with data_dir_env(shop.base):
        from churn_assets_tests.pipeline_fixtures import run_job

        run_job(shop.defs, "daily_score_job", shop.instance, tags={"dagster/partition": day.isoformat()})
    drift = shop.query(f"SELECT column_name, psi FROM {DRIFT} WHERE as_of_date = ?", [day])
    drift = drift.set_index("column_name")["psi"]
    assert drift["amount_sum_90d"] > 0.2 and drift["amount_mean"] > 0.2
    assert drift["days_since_last_order"] < 0.01  # what did not move stays put
    data = evaluate(calm.cursor)
    [request] = data.run_requests
    assert request.tags["churn/drift_partition"] == day.isoformat()
    assert request.tags["churn/psi_max_column"] in {"amount_sum_90d", "amount_mean", "churn_probability"}
    assert float(request.tags["churn/psi_max"]) == pytest.approx(drift.max(), abs=1e-4)
    assert "amount_mean" in request.tags["churn/psi_drifted"].split(",")
    assert not evaluate(data.cursor).run_requests  # acted on once
