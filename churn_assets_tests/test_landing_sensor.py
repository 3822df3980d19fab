"""landing_files_sensor, evaluated with Dagster's test contexts: which landing files start ingest_job for which
days, and that a tick is skipped while a writer holds the warehouse."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from churn_assets.defs.partitions import RANGE_END, RANGE_START
from churn_assets.defs.resources import DataDirectory, DuckDBWarehouse
from churn_assets.defs.sensors import LandingCursor, contiguous_blocks
from churn_assets.ingest.store import ensure_tables
from churn_assets.warehouse.contract import SOURCES
from churn_assets_tests.pipeline_fixtures import data_dir_env
from churn_assets_tests.sensor_helpers import evaluate_sensor, repository, sensor

HOUR_AGO = time.time() - 3600


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
    data = evaluate_sensor(
        sensor("landing_files_sensor"),
        cursor=cursor,
        repository_def=repository(),
        resources={"duckdb": warehouse, "data_dir": DataDirectory(path=str(base))},
    )
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
        "orders/2026-03-01.csv",
        "events/2026-03-02.jsonl",
        "orders/2026-03-02-late.csv",
        "reviews/2026-03-05.parquet",
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
        ingested = datetime.fromtimestamp(HOUR_AGO, tz=UTC).replace(tzinfo=None)
        for day in ("2026-03-01", "2026-03-02"):
            con.execute(
                "INSERT INTO raw.ingest_log (kind, partition_date, files, read, accepted, rejected, duplicates, "
                "ingested_at) VALUES ('orders', ?, 1, 1, 1, 0, 0, ?)",
                [day, ingested],
            )
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
    data = evaluate_sensor(sensor("drift_sensor"), resources={"duckdb": warehouse})
    assert not data.run_requests and "busy" in data.skip_message


def test_contiguous_blocks():
    d = date(2026, 3, 1)
    days = [d, d + timedelta(days=1), d + timedelta(days=2), d + timedelta(days=5), d + timedelta(days=1)]
    assert contiguous_blocks(days) == [(d, d + timedelta(days=2)), (d + timedelta(days=5), d + timedelta(days=5))]
