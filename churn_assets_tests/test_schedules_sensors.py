"""Schedules and sensors, evaluated with Dagster's test contexts (and one live daemon test, marked slow)."""

import functools
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from churn_assets import schedules
from churn_assets.assets.drift import DRIFT, ensure_drift_table
from churn_assets.contract import SOURCES
from churn_assets.definitions import build_definitions
from churn_assets.ingest.store import ensure_tables
from churn_assets.pipeline import RANGE_END, RANGE_START
from churn_assets.resources import DuckDBWarehouse, MlflowTracking
from churn_assets.sensors import (
    LandingCursor,
    champion_alias_sensor,
    contiguous_blocks,
    drift_sensor,
    landing_files_sensor,
)
from churn_assets_tests.pipeline_fixtures import data_dir_env

HOUR_AGO = time.time() - 3600


@functools.cache
def repository() -> dg.RepositoryDefinition:
    """The code location's repository: partitioned run requests are resolved against its jobs."""
    return build_definitions().get_repository_def()


@pytest.fixture
def repo():
    return repository()


def schedule_tick(schedule: dg.ScheduleDefinition, repo, when: datetime):
    return schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=when, repository_def=repo))


# ---------------------------------------------------------------- schedules


def test_daily_schedule_scores_the_previous_day_with_the_daily_job(repo):
    data = schedule_tick(schedules.daily_scoring_schedule, repo, datetime(2026, 3, 15, 6, 0, tzinfo=timezone.utc))
    [request] = data.run_requests
    assert request.partition_key == "2026-03-14"
    assert request.tags["dagster/partition"] == "2026-03-14"
    assert request.run_key == "2026-03-14"
    assert schedules.daily_scoring_schedule.job_name == "daily_score_job"
    assert schedules.daily_scoring_schedule.cron_schedule == "0 6 * * *"
    assert schedules.daily_scoring_schedule.execution_timezone == "UTC"
    # the job refreshes staging before scoring, so the day's new rows are seen; it is partitioned by day
    job = repo.get_job("daily_score_job")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"staging/orders", "staging/events", "scoring/risk_list", "monitoring/drift", "monitoring/realized_churn"} <= keys
    assert job.partitions_def is not None and job.partitions_def.has_partition_key("2026-03-14")


def test_daily_schedule_uses_the_configured_time_and_timezone(monkeypatch, repo):
    monkeypatch.setenv("CHURN_SCORE_CRON", "30 5 * * *")
    monkeypatch.setenv("CHURN_TIMEZONE", "Pacific/Auckland")
    sched = schedules.make_daily_scoring_schedule(
        schedules.cron_from_env(schedules.SCORE_CRON_ENV, schedules.DEFAULT_SCORE_CRON), schedules.timezone_from_env()
    )
    assert (sched.cron_schedule, sched.execution_timezone) == ("30 5 * * *", "Pacific/Auckland")
    # 05:30 on 15 March in Auckland is still 14 March in UTC: "yesterday" is Auckland's yesterday
    tick = datetime(2026, 3, 15, 5, 30, tzinfo=ZoneInfo("Pacific/Auckland"))
    [request] = schedule_tick(sched, repo, tick).run_requests
    assert request.partition_key == "2026-03-14"
    # the first partition has no previous day to score
    first = datetime(2026, 1, 1, 5, 30, tzinfo=ZoneInfo("Pacific/Auckland"))
    data = schedule_tick(sched, repo, first)
    assert not data.run_requests and "not a daily partition" in data.skip_message


def test_bad_cron_or_timezone_names_the_variable(monkeypatch):
    monkeypatch.setenv("CHURN_SCORE_CRON", "every morning")
    with pytest.raises(ValueError, match="CHURN_SCORE_CRON"):
        schedules.cron_from_env(schedules.SCORE_CRON_ENV, schedules.DEFAULT_SCORE_CRON)
    monkeypatch.setenv("CHURN_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValueError, match="CHURN_TIMEZONE"):
        schedules.timezone_from_env()


def test_weekly_schedule_runs_the_retraining_job(repo):
    sched = schedules.weekly_retrain_schedule
    assert sched.job_name == "retrain_job"
    assert sched.cron_schedule == "0 3 * * 0"
    [request] = schedule_tick(sched, repo, datetime(2026, 3, 15, 3, 0, tzinfo=timezone.utc)).run_requests
    assert request.tags["churn/trigger"] == "weekly_retrain_schedule"
    # retraining refreshes the training set first, then trains
    job = repo.get_job("retrain_job")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"staging/orders", "marts/training_set", "ml/trained_models", "ml/champion", "reports/evaluation"} <= keys


# ---------------------------------------------------------------- landing_files_sensor


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHURN_LANDING_SETTLE_S", "60")
    for kind in SOURCES:
        (tmp_path / "landing" / kind).mkdir(parents=True)
    with data_dir_env(tmp_path):
        yield tmp_path


def land(base: Path, kind: str, name: str, text: str = "user_id\nu1\n", mtime: float | None = HOUR_AGO) -> Path:
    path = base / "landing" / kind / name
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def tick(base: Path, cursor: str | None):
    """One evaluation of the landing sensor: (run requests, new cursor, skip message)."""
    warehouse = DuckDBWarehouse(path=str(base / "churn.duckdb"))
    context = dg.build_sensor_context(cursor=cursor, repository_def=repository(), resources={"duckdb": warehouse})
    data = landing_files_sensor.evaluate_tick(context)
    return data.run_requests, data.cursor, data.skip_message


def partitions_of(requests) -> list[str]:
    """Every daily partition the requests cover (a single partition or a range run)."""
    days = []
    for r in requests:
        if r.partition_key:
            days.append(r.partition_key)
        else:
            first, last = date.fromisoformat(r.tags[RANGE_START]), date.fromisoformat(r.tags[RANGE_END])
            days += [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    return sorted(days)


def test_new_files_request_exactly_their_partitions_once(data_dir):
    land(data_dir, "orders", "2026-03-01.csv")
    land(data_dir, "events", "2026-03-02.jsonl")
    land(data_dir, "orders", "2026-03-02-late.csv")
    land(data_dir, "reviews", "2026-03-05.parquet")
    land(data_dir, "orders", "notes.txt")  # not a landing file name
    requests, cursor, _ = tick(data_dir, None)
    assert partitions_of(requests) == ["2026-03-01", "2026-03-02", "2026-03-05"]
    assert len(requests) == 2  # consecutive days share a range run
    assert all(r.job_name in (None, "ingest_job") for r in requests)
    landing = str(data_dir / "landing")
    assert all(r.run_config["ops"]["raw__orders"]["config"]["landing_dir"] == landing for r in requests)
    assert len({r.run_key for r in requests}) == 2
    assert set(json.loads(cursor)["seen"]) == {
        "orders/2026-03-01.csv", "events/2026-03-02.jsonl", "orders/2026-03-02-late.csv", "reviews/2026-03-05.parquet",
    }
    # second tick: nothing new, nothing requested
    again, cursor2, skip = tick(data_dir, cursor)
    assert again == [] and "no new landing files" in skip
    # one more file: only its day
    land(data_dir, "orders", "2026-03-09.csv")
    requests, _, _ = tick(data_dir, cursor2)
    assert partitions_of(requests) == ["2026-03-09"]


def test_a_file_being_written_is_not_picked_up_until_it_settles(data_dir):
    path = land(data_dir, "orders", "2026-03-01.csv", mtime=None)  # just written: fresh mtime
    requests, cursor, skip = tick(data_dir, None)
    assert requests == [] and "settling" in skip
    assert "orders/2026-03-01.csv" in LandingCursor.load(cursor).pending
    # the writer appends: size and mtime change, still not taken
    with path.open("a") as fh:
        fh.write("u2\n")
    requests, cursor, _ = tick(data_dir, cursor)
    assert requests == []
    # unchanged since the previous tick: settled, taken
    requests, cursor, _ = tick(data_dir, cursor)
    assert partitions_of(requests) == ["2026-03-01"]
    assert tick(data_dir, cursor)[0] == []


def test_temp_and_hidden_names_are_ignored_until_renamed(data_dir):
    part = land(data_dir, "events", "2026-03-03.jsonl.part")
    land(data_dir, "events", "2026-03-04.csv.tmp")
    land(data_dir, "events", ".2026-03-05.jsonl")
    requests, cursor, _ = tick(data_dir, None)
    assert requests == []
    part.rename(part.with_name("2026-03-03.jsonl"))  # the writer's atomic rename when done
    requests, _, _ = tick(data_dir, cursor)
    assert partitions_of(requests) == ["2026-03-03"]


def test_a_modified_file_is_requested_again_with_a_new_run_key(data_dir):
    path = land(data_dir, "orders", "2026-03-01.csv")
    [first], cursor, _ = tick(data_dir, None)
    path.write_text("user_id\nu1\nu2\n")
    os.utime(path, (HOUR_AGO + 60, HOUR_AGO + 60))
    [second], cursor, _ = tick(data_dir, cursor)
    assert second.partition_key == first.partition_key == "2026-03-01"
    assert second.run_key != first.run_key
    assert tick(data_dir, cursor)[0] == []


def test_first_tick_skips_files_an_earlier_run_already_ingested(data_dir):
    old = land(data_dir, "orders", "2026-03-01.csv", mtime=HOUR_AGO - 600)
    land(data_dir, "orders", "2026-03-02.csv", mtime=HOUR_AGO - 600)
    with duckdb.connect(str(data_dir / "churn.duckdb")) as con:
        for spec in SOURCES.values():
            ensure_tables(con, spec)
        ingested = datetime.fromtimestamp(HOUR_AGO, tz=timezone.utc).replace(tzinfo=None)
        con.execute("INSERT INTO raw.ingest_log VALUES ('orders', DATE '2026-03-01', 1, 1, 1, 0, 0, ?)", [ingested])
        con.execute("INSERT INTO raw.ingest_log VALUES ('orders', DATE '2026-03-02', 1, 1, 1, 0, 0, ?)", [ingested])
    os.utime(data_dir / "landing" / "orders" / "2026-03-02.csv", (HOUR_AGO + 5, HOUR_AGO + 5))  # changed after
    requests, cursor, _ = tick(data_dir, None)
    assert partitions_of(requests) == ["2026-03-02"]
    assert "orders/2026-03-01.csv" in LandingCursor.load(cursor).seen  # counted as done, not requested
    assert old.exists()


HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS t (x INT)")
print("locked", flush=True)
time.sleep(60)
"""


@pytest.fixture
def locked_warehouse(tmp_path):
    """Another process holds the DuckDB write lock (as a running job does)."""
    path = tmp_path / "churn.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield path
    finally:
        proc.kill()
        proc.wait()


def test_sensors_skip_the_tick_while_a_writer_holds_the_warehouse(data_dir, locked_warehouse):
    land(data_dir, "orders", "2026-03-01.csv")
    requests, cursor, skip = tick(data_dir, None)  # first tick reads raw.ingest_log
    assert requests == [] and cursor is None and "warehouse" in skip
    warehouse = DuckDBWarehouse(path=str(locked_warehouse))
    data = drift_sensor.evaluate_tick(dg.build_sensor_context(resources={"duckdb": warehouse}))
    assert not data.run_requests and "busy" in data.skip_message


def test_contiguous_blocks():
    d = date(2026, 3, 1)
    days = [d, d + timedelta(days=1), d + timedelta(days=2), d + timedelta(days=5), d + timedelta(days=1)]
    assert contiguous_blocks(days) == [(d, d + timedelta(days=2)), (d + timedelta(days=5), d + timedelta(days=5))]


# ---------------------------------------------------------------- champion_alias_sensor


def warehouse_with_scores(path: Path, newest_day: date, scored_version: str) -> DuckDBWarehouse:
    with duckdb.connect(str(path)) as con:
        for spec in SOURCES.values():
            ensure_tables(con, spec)
        for i, accepted in ((2, 5), (1, 5), (0, 0)):  # the newest log row accepted nothing: not a data day
            day = newest_day - timedelta(days=i - 1)
            con.execute(
                "INSERT INTO raw.ingest_log VALUES ('orders', ?, 1, ?, ?, 0, 0, now())", [day, accepted, accepted]
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
        context = dg.build_sensor_context(
            cursor=cursor, repository_def=repository(), resources={"duckdb": warehouse, "mlflow": tracking}
        )
        return champion_alias_sensor.evaluate_tick(context)

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
        assert champion_alias_sensor.job_name == "daily_score_job"
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
    evaluate = lambda cursor: drift_sensor.evaluate_tick(  # noqa: E731
        dg.build_sensor_context(cursor=cursor, resources={"duckdb": DuckDBWarehouse(path=str(db))})
    )
    assert "no drift measured" in evaluate(None).skip_message
    t0 = datetime(2026, 6, 30, 7, 0)
    write_drift(db, date(2026, 6, 29), {"churn_probability": 0.03, "orders_90d": 0.12, "amount_mean": 0.05}, t0)
    calm = evaluate(None)
    assert not calm.run_requests and "no PSI above 0.2" in calm.skip_message
    write_drift(db, date(2026, 6, 30), {"churn_probability": 0.31, "orders_90d": 0.45, "amount_mean": 0.05}, t0)
    data = evaluate(calm.cursor)
    [request] = data.run_requests
    assert drift_sensor.job_name == "retrain_job"
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
    from churn_assets.pipeline import run_job
    from churn_assets.resources import PipelineSettings
    from churn_assets.simulate import ShopConfig, simulate_shop
    from churn_assets_tests.pipeline_fixtures import Shop

    base = tmp_path_factory.mktemp("drift_shop")
    with data_dir_env(base):
        simulate_shop(base, ShopConfig(n_users=400, n_days=100, seed=11))
        # short horizon and one test / valid date: a training window exists after 100 days
        settings = PipelineSettings(horizon_days=14, min_history_days=56, n_test_dates=1, n_valid_dates=1)
        shop = Shop(base, build_definitions(settings=settings), dg.DagsterInstance.ephemeral())
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
        return drift_sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor, resources={"duckdb": warehouse}))

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
        from churn_assets.pipeline import run_job

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


# ---------------------------------------------------------------- live: dagster dev with its daemon


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_run(instance: dg.DagsterInstance, tags: dict, timeout_s: float, proc: subprocess.Popen, log: Path):
    """The first finished run with these tags (polling the instance the daemon writes to)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dagster dev exited early:\n{log.read_text()[-3000:]}"
        runs = instance.get_runs(filters=dg.RunsFilter(tags=tags))
        done = [r for r in runs if r.is_finished]
        if done:
            return done[0]
        time.sleep(2)
    raise AssertionError(f"no finished run with tags {tags} after {timeout_s}s:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_live_daemon_ingests_new_landing_files(tmp_path):
    """dagster dev (webserver + daemon) on loopback: the landing sensor, running by default, starts ingest_job
    for the landed days, then for exactly the day of a file that arrives later."""
    import signal

    from churn_assets.instance import DAGSTER_YAML
    from churn_assets.simulate import ShopConfig, simulate_shop

    base = tmp_path / "data"
    simulate_shop(base, ShopConfig(n_users=120, n_days=12, seed=5))
    home = base / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    repo_root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "CHURN_DATA_DIR": str(base),
        "DAGSTER_HOME": str(home),
        "CHURN_LANDING_SETTLE_S": "1",
        "CHURN_SENSOR_INTERVAL_S": "5",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = tmp_path / "dagster_dev.log"
    with log.open("w") as out:
        # its own process group (as `set -m` gives a background job), so the group can be stopped as one
        proc = subprocess.Popen(
            ["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(free_port())],
            cwd=repo_root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        instance = dg.DagsterInstance.from_config(str(home))
        days = sorted({p.name[:10] for p in (base / "landing").glob("*/*") if p.is_file()})
        first = wait_for_run(instance, {"churn/trigger": "landing_files_sensor"}, 240, proc, log)
        assert first.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
        assert (first.tags[RANGE_START], first.tags[RANGE_END]) == (days[0], days[-1])
        db = DuckDBWarehouse(path=str(base / "churn.duckdb"), lock_timeout_s=60)
        with db.connect(read_only=True) as con:
            ingested = con.execute(
                "SELECT DISTINCT CAST(partition_date AS VARCHAR) FROM raw.ingest_log ORDER BY 1"
            ).fetchall()
        assert [d for (d,) in ingested] == days

        # a late file for one day: a run for exactly that partition
        late_day = days[3]
        user = sorted((base / "landing" / "users").glob("*"))[0].read_text().splitlines()[1].split(",")[0]
        (base / "landing" / "orders" / f"{late_day}-late.csv").write_text(
            f"user_id,order_id,ts,amount\n{user},late-1,{late_day}T10:00:00Z,42.0\n"
        )
        tags = {"churn/trigger": "landing_files_sensor", "dagster/partition": late_day}
        second = wait_for_run(instance, tags, 120, proc, log)
        assert second.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
        assert len(instance.get_runs(filters=dg.RunsFilter(tags={"churn/trigger": "landing_files_sensor"}))) == 2
        with db.connect(read_only=True) as con:
            assert con.execute("SELECT count(*) FROM raw.orders WHERE order_id = 'late-1'").fetchone()[0] == 1

        # the other sensors ticked too, and skipped without error (no champion, no drift measured yet)
        from dagster._core.scheduler.instigation import InstigatorType, TickStatus

        states = {st.instigator_name: st for st in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)}
        for name in ("landing_files_sensor", "champion_alias_sensor", "drift_sensor"):
            ticks = instance.get_ticks(states[name].instigator_origin_id, states[name].selector_id)
            assert ticks, f"{name} never ticked"
            failed = [t.tick_data.error for t in ticks if t.status == TickStatus.FAILURE]
            assert not failed, f"{name}: {failed[0]}"
            if name != "landing_files_sensor":
                assert {t.status for t in ticks} == {TickStatus.SKIPPED}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
