"""Backfills give the same tables as one range run or as a run per partition; parallel runs against one
warehouse queue, one whole run at a time, on its run lock (churn_assets/warehouse/run_lock.py) instead of failing on
DuckDB's file lock or interleaving their steps."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from churn_assets.app.instance import ensure_dagster_home
from churn_assets.defs.build import build_definitions
from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse
from churn_assets.ingest.landing_files import landing_days
from churn_assets.simulate import ShopConfig, simulate_shop
from churn_assets.warehouse.contract import INGEST_ORDER
from churn_assets.warehouse.run_lock import hold_run_lock, run_lock_path
from churn_assets_tests.pipeline_fixtures import Shop, data_dir_env, ingest_range

CHAMPION_FLOOR = "ml__champion_champion_auc_above_floor"
NOT_COMPARED = {"_ingested_at", "ingested_at"}  # when a row was written, not what was written


def test_every_duckdb_step_is_in_the_duckdb_pool():
    """Every asset and check that takes the DuckDB resource queues on the pool (new assets included)."""
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    uses_duckdb = [a for a in graph.assets_defs if "duckdb" in a.required_resource_keys]
    assert len(uses_duckdb) > 20
    assert [a.node_def.name for a in uses_duckdb if a.node_def.pool != DUCKDB_POOL] == []


def test_daily_partitions_start_on_the_first_landing_day(tmp_path, monkeypatch):
    from churn_assets.defs.partitions import DEFAULT_START_DATE, START_DATE_ENV, partitions_start

    monkeypatch.delenv(START_DATE_ENV, raising=False)
    landing = tmp_path / "landing"
    assert partitions_start(landing) == DEFAULT_START_DATE  # no landing files yet
    for kind, name in (("orders", "2025-03-02.csv"), ("users", "2025-03-04.jsonl"), ("orders", "notes.txt")):
        (tmp_path / "landing" / kind).mkdir(parents=True, exist_ok=True)
        (tmp_path / "landing" / kind / name).write_text("")
    assert partitions_start(landing) == "2025-03-02"
    monkeypatch.setenv(START_DATE_ENV, "2024-12-01")
    assert partitions_start(landing) == "2024-12-01"


def warehouse_tables(path: Path) -> dict[str, pd.DataFrame]:
    """raw.*, quarantine.* and raw.ingest_log, sorted, without the write-time columns."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for kind in INGEST_ORDER:
            for table in (f"raw.{kind}", f"quarantine.{kind}"):
                df = con.execute(f"SELECT * FROM {table}").df()
                df = df.drop(columns=[c for c in df.columns if c in NOT_COMPARED])
                out[table] = df.sort_values(list(df.columns)).reset_index(drop=True)
        log = con.execute("SELECT * EXCLUDE (ingested_at) FROM raw.ingest_log").df()
        out["raw.ingest_log"] = log.sort_values(["kind", "partition_date"]).reset_index(drop=True)
    return out


@pytest.mark.slow  # nine ingestion runs with their checks: about a minute
def test_a_range_ingested_in_one_run_equals_a_run_per_partition(tmp_path):
    simulate_shop(tmp_path / "shop", ShopConfig(n_users=200, n_days=8, seed=5, messy_share=0.1))
    landing = tmp_path / "shop" / "landing"
    days = landing_days(landing)
    instance = dg.DagsterInstance.ephemeral()
    one_run = build_definitions(duckdb=DuckDBWarehouse(path=str(tmp_path / "one_run.duckdb")))
    per_partition = build_definitions(duckdb=DuckDBWarehouse(path=str(tmp_path / "per_partition.duckdb")))

    result = ingest_range(one_run, instance, days[0], days[-1], landing=landing)
    materialized = {(e.asset_key.to_user_string(), e.partition) for e in result.get_asset_materialization_events()}
    assert len(materialized) == len(INGEST_ORDER) * len(days)  # one run, every partition of every raw asset
    for day in days:
        ingest_range(per_partition, instance, day, day, landing=landing)
    assert len(instance.get_runs()) == 1 + len(days)

    a, b = warehouse_tables(tmp_path / "one_run.duckdb"), warehouse_tables(tmp_path / "per_partition.duckdb")
    assert len(a["raw.ingest_log"]) == len(INGEST_ORDER) * len(days)
    assert len(a["raw.orders"]) > 0 and len(a["quarantine.orders"]) > 0
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], obj=table)


def dagster_cli(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "dagster"), *args]


def step_intervals(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float, str]]:
    """(start, end, step) of every step of the run, from its event log."""
    starts, ends = {}, {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = record.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            ends[event.step_key] = record.timestamp
    return [(starts[k], ends[k], k) for k in starts]


def step_failures(instance: dg.DagsterInstance, skip: set[str]) -> list[str]:
    """The errors of failed steps of the runs not in `skip`, to say why a run failed."""
    return [
        f"{r.dagster_event.step_key}: {r.dagster_event.event_specific_data.error.to_string()[-2000:]}"
        for run in instance.get_runs()
        if run.run_id not in skip
        for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    ]


def waiting_for_warehouse(instance: dg.DagsterInstance, run_id: str) -> bool:
    return any("waiting for the warehouse" in (r.user_message or "") for r in instance.all_logs(run_id))


@pytest.mark.slow
def test_parallel_runs_queue_on_the_warehouse_run_lock(tmp_path, monkeypatch):
    base = tmp_path / "shop"
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_dagster_home(home)  # dagster.yaml with `concurrency: pools: default_limit: 1`
    instance = dg.DagsterInstance.from_config(str(home))
    assert instance.event_log_storage.supports_global_concurrency_limits

    quality_not_under_test = {"ops": {CHAMPION_FLOOR: {"config": {"min_test_roc_auc": 0.5}}}}
    simulate_shop(base, ShopConfig(n_users=400, n_days=170, seed=11))
    with data_dir_env(base):
        shop = Shop(base, build_definitions(base), instance)
        days = shop.days()
        late, score_day = days[-3:], days[-4]
        shop.ingest(days[0], days[-4])
        shop.build()
        train = {"ml__trained_models": {"config": {"models": ["logistic"]}}, **quality_not_under_test["ops"]}
        shop.defs.resolve_job_def("train_job").execute_in_process(instance=instance, run_config={"ops": train})
    setup_runs = {r.run_id for r in instance.get_runs()}
    pools = {p.name: p.limit for p in instance.event_log_storage.get_pool_limits()}
    assert pools.get(DUCKDB_POOL) == 1  # the setup runs' steps already took the pool's slot

    # Hold the warehouse's run lock and the DuckDB file, as a long run would. A step that opened the file
    # anyway fails at once (lock_timeout_s = 0): only the run lock can keep the runs apart.
    lock = hold_run_lock(run_lock_path(base / "churn.duckdb"), purpose="the test, as a long run")
    lock.__enter__()
    holder = duckdb.connect(str(base / "churn.duckdb"))
    no_lock_retry = {"resources": {"duckdb": {"config": {"lock_timeout_s": 0}}}}
    commands = []
    for day in late:
        config = tmp_path / f"ingest_{day}.yaml"
        config.write_text(json.dumps(no_lock_retry))
        commands.append(["ingest_job", day, config])
    config = tmp_path / "score.yaml"
    config.write_text(json.dumps({**no_lock_retry, **quality_not_under_test}))
    commands.append(["score_job", score_day, config])
    env = {**os.environ, "CHURN_DATA_DIR": str(base), "DAGSTER_HOME": str(home)}
    procs = [
        subprocess.Popen(
            dagster_cli(
                "job",
                "execute",
                "-m",
                "churn_assets.definitions",
                "-j",
                job,
                "--tags",
                json.dumps({"dagster/partition": day.isoformat()}),
                "-c",
                str(config),
            ),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for job, day, config in commands
    ]
    try:
        # every run gets going and waits for the warehouse while the lock is held
        deadline = time.monotonic() + 600  # four processes importing the project on a busy machine
        while time.monotonic() < deadline:
            runs = [r.run_id for r in instance.get_runs() if r.run_id not in setup_runs]
            waiting = [r for r in runs if waiting_for_warehouse(instance, r)]
            if len(waiting) == len(commands) or any(p.poll() is not None for p in procs):
                break
            time.sleep(2)
        ended = [p.communicate()[0][-3000:] for p in procs if p.poll() is not None]
        assert len(waiting) == len(commands) and not ended, ended
    finally:
        holder.close()
        lock.__exit__(None, None, None)
    for p in procs:
        p.communicate(timeout=600)
    assert [p.returncode for p in procs] == [0] * len(procs), step_failures(instance, setup_runs)

    new_runs = [r for r in instance.get_runs() if r.run_id not in setup_runs]
    assert len(new_runs) == len(commands) and all(r.status == dg.DagsterRunStatus.SUCCESS for r in new_runs)
    # one whole run at a time: every step of a run ends before the next run's first step starts
    spans = sorted(
        (min(s for s, _, _ in steps), max(e for _, e, _ in steps), run.run_id)
        for run in new_runs
        if (steps := step_intervals(instance, run.run_id))
    )
    assert len(spans) == len(commands)
    overlaps = [(a[2], b[2]) for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1]]
    assert overlaps == []

    # and the tables are complete: the late partitions ingested and reconciled, the day scored
    log = shop.query("SELECT * FROM raw.ingest_log WHERE partition_date >= ?", [late[0]])
    assert len(log) == len(INGEST_ORDER) * len(late)
    assert (log["read"] == log["accepted"] + log["rejected"] + log["duplicates"]).all()
    for kind in INGEST_ORDER:
        n = shop.query(f"SELECT count(*) AS n FROM raw.{kind} WHERE _partition_date >= ?", [late[0]])["n"][0]
        assert n == log.loc[log["kind"] == kind, "accepted"].sum()
    checks = [
        r.dagster_event.event_specific_data
        for run in new_runs
        if run.job_name == "score_job"
        for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    assert {c.check_name: c.passed for c in checks}["every_active_user_once"]
    assert shop.query("SELECT count(*) AS n FROM scoring.risk_list WHERE as_of_date = ?", [score_day])["n"][0] > 0
