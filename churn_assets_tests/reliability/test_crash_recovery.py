"""kill -9 of a real `churn run` at each stage, then a rerun: it must finish, close what the dead run left open and
give the same list as an uninterrupted run. Ctrl-C / SIGTERM stop `churn` within seconds.

Before the run lock (churn_assets/warehouse/run_lock.py) a killed run kept its slot of the `duckdb` pool and the next run
spun for ever on "Step still blocked by limit for pool duckdb"; its Dagster run stayed STARTED and its MLflow run
RUNNING.
"""

from __future__ import annotations

import os
import signal
import time

import dagster as dg
import pytest
from mlflow import MlflowClient

from churn_assets_tests.reliability.runs import (
    assert_same_list,
    copy_shop,
    finish,
    instance,
    lock_record,
    run_args,
    simulate_orders_only,
    start,
    wait_until,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]


@pytest.fixture(scope="module")
def shops(tmp_path_factory):
    """A fresh shop (landing files only), the list of an uninterrupted run, and a copy of the shop as that run
    left it after ingestion and features (warehouse and Dagster instance, no MLflow store)."""
    root = tmp_path_factory.mktemp("crash")
    fresh = simulate_orders_only(root / "fresh")
    baseline = copy_shop(fresh, root / "baseline", keep_warehouse=False)
    finish(run_args(baseline, root / "baseline.csv"), root / "baseline.log")
    ingested = copy_shop(baseline, root / "ingested", keep_warehouse=True)
    return {"fresh": fresh, "ingested": ingested, "baseline_list": root / "baseline.csv"}


# (stage, source shop, step to reach before the kill, wait for an open MLflow run too, extra delay in s)
STAGES = [
    ("ingestion", "fresh", "raw__orders", False, 1.5),
    ("training", "ingested", "ml__trained_models", True, 0.0),
    ("alias_move", "ingested", "ml__champion", False, 0.3),
    ("scoring", "ingested", "scoring__risk_list", False, 0.3),
]


@pytest.mark.parametrize(("stage", "source", "step", "mlflow_open", "delay"), STAGES, ids=[s[0] for s in STAGES])
def test_rerun_after_kill_9_finishes_and_gives_the_uninterrupted_list(
    shops, tmp_path, stage, source, step, mlflow_open, delay
):
    base = copy_shop(shops[source], tmp_path / "shop", keep_warehouse=source == "ingested")
    proc = start(run_args(base, tmp_path / "killed.csv"), tmp_path / "killed.log")
    try:
        record = wait_until(proc, base, step, tmp_path / "killed.log", mlflow_open=mlflow_open)
        time.sleep(delay)
        assert proc.poll() is None, f"the run finished before it could be killed at {stage}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # the crash left its traces: a lock record naming its runs, a run still STARTED
    left = lock_record(base)
    assert left is not None and left["pid"] == proc.pid
    dead_run = record["dagster_runs"][-1]
    with instance(base) as inst:
        assert inst.get_run_by_id(dead_run).status == dg.DagsterRunStatus.STARTED

    finish(run_args(base, tmp_path / "rerun.csv"), tmp_path / "rerun.log")

    assert_same_list(tmp_path / "rerun.csv", shops["baseline_list"])
    assert "recovered: Dagster run" in (tmp_path / "rerun.log").read_text()
    assert lock_record(base) is None  # released cleanly
    with instance(base) as inst:
        assert inst.get_run_by_id(dead_run).status == dg.DagsterRunStatus.FAILURE
        unfinished = [r.run_id for r in inst.get_runs() if not r.is_finished]
        assert unfinished == []
        assert inst.event_log_storage.get_concurrency_info("duckdb").active_slot_count == 0
    for uri, run_id in left["mlflow_runs"]:
        assert MlflowClient(uri).get_run(run_id).info.status == "FAILED"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_churn_stops_within_seconds_on_sigterm_and_ctrl_c(shops, tmp_path, sig):
    base = copy_shop(shops["ingested"], tmp_path / "shop", keep_warehouse=True)
    proc = start(run_args(base, tmp_path / "stopped.csv"), tmp_path / "stopped.log")
    try:
        record = wait_until(proc, base, "ml__trained_models", tmp_path / "stopped.log")
        os.kill(proc.pid, sig)
        stopped_at = time.monotonic()
        rc = proc.wait(timeout=60)
        waited = time.monotonic() - stopped_at
    finally:
        if proc.poll() is None:
            proc.kill()
    log = (tmp_path / "stopped.log").read_text()
    assert rc == 130, log[-2000:]
    assert waited < 30, f"took {waited:.0f}s to stop"
    assert "churn run: interrupted" in log
    assert lock_record(base) is None  # released on the way out: nothing for the next run to recover
    with instance(base) as inst:
        assert inst.get_run_by_id(record["dagster_runs"][-1]).is_finished


def test_a_run_waits_for_another_on_the_same_data_directory(shops, tmp_path):
    """A second command on a busy data directory waits (saying for whom) instead of interleaving its steps."""
    base = copy_shop(shops["ingested"], tmp_path / "shop", keep_warehouse=True)
    first = start(run_args(base, tmp_path / "first.csv"), tmp_path / "first.log")
    try:
        wait_until(first, base, "ml__trained_models", tmp_path / "first.log")
        finish(run_args(base, tmp_path / "second.csv"), tmp_path / "second.log")
        assert first.wait(timeout=60) == 0
    finally:
        if first.poll() is None:
            first.kill()
    second_log = (tmp_path / "second.log").read_text()
    assert f"waiting for the warehouse: pid {first.pid}" in second_log
    assert_same_list(tmp_path / "first.csv", shops["baseline_list"])
    assert_same_list(tmp_path / "second.csv", shops["baseline_list"])
