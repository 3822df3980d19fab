"""The warehouse run lock: exclusive across processes, re-entrant within one, free the moment its holder dies,
with a record of what a dead holder left open."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from churn_assets.warehouse.run_lock import RunLockTimeout, hold_run_lock, noting_open, run_lock_path

pytestmark = pytest.mark.reliability

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from churn_assets.warehouse.run_lock import hold_run_lock, noting_open
    with hold_run_lock(Path(sys.argv[1]), purpose="churn run in another process"):
        with noting_open("dagster_runs", "run-of-the-dead"), noting_open("mlflow_runs", ["sqlite:///x.db", "mlflow-run"]):
            print("held", flush=True)
            time.sleep(600)
""")


def _holder(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_another_process_waits_then_gives_up_naming_the_holder(tmp_path):
    path = run_lock_path(tmp_path / "churn.duckdb")
    proc = _holder(path)
    notes = []
    try:
        started = time.monotonic()
        with pytest.raises(RunLockTimeout) as err, hold_run_lock(path, "second", timeout_s=1.0, on_wait=notes.append):
            pass
        assert time.monotonic() - started >= 1.0
    finally:
        proc.kill()
        proc.wait()
    assert f"pid {proc.pid}" in str(err.value) and "churn run in another process" in str(err.value)
    assert notes and f"pid {proc.pid}" in notes[0]


def test_a_killed_holder_frees_the_lock_and_leaves_its_open_runs_to_the_next(tmp_path):
    path = run_lock_path(tmp_path / "churn.duckdb")
    proc = _holder(path)
    proc.kill()  # SIGKILL: no clean-up runs
    proc.wait()
    stale = []
    started = time.monotonic()
    with hold_run_lock(path, "next run", timeout_s=5.0, on_stale=stale.append) as record:
        assert time.monotonic() - started < 5.0
        assert record.pid != proc.pid and json.loads(path.read_text())["purpose"] == "next run"
    assert [(s.pid, s.dagster_runs, s.mlflow_runs) for s in stale] == [
        (proc.pid, ["run-of-the-dead"], [["sqlite:///x.db", "mlflow-run"]])
    ]
    assert path.read_text() == ""  # a clean release leaves nothing to recover
    with hold_run_lock(path, "third", timeout_s=1.0, on_stale=stale.append):
        pass
    assert len(stale) == 1


def test_reentrant_within_a_process_and_records_what_is_open(tmp_path):
    path = run_lock_path(tmp_path / "churn.duckdb")
    with hold_run_lock(path, "churn run", timeout_s=1.0):
        with hold_run_lock(path, "a Dagster run of it", timeout_s=1.0), noting_open("dagster_runs", "r1"):
            assert json.loads(path.read_text())["dagster_runs"] == ["r1"]
        assert json.loads(path.read_text())["dagster_runs"] == []
        assert json.loads(path.read_text())["purpose"] == "churn run"
    assert path.read_text() == ""
    with noting_open("dagster_runs", "r2"):  # nothing held: nothing to record, nothing fails
        assert path.read_text() == ""
