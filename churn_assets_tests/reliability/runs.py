"""Real `churn` subprocesses on a small orders-only shop, and what the tests look at after them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from churn_assets.warehouse.run_lock import run_lock_path

# a shop small enough to run often: orders only (ingestion costs a fixed time per partition and kind),
# 92 days up to the as-of date, the shortest horizon that still trains
N_USERS, N_DAYS = 400, 92
AS_OF = "2026-04-02"
RUN_ARGS = ["--horizon-days", "14", "--models", "recency_rule,logistic,gbt", "--no-text-model"]
RUN_TIMEOUT_S = 420  # a rerun after a crash must finish: before the fix it hung for ever on a dead run's pool slot


def simulate_orders_only(out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "churn_assets.app.cli",
            "simulate",
            "--users",
            str(N_USERS),
            "--days",
            str(N_DAYS),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    for kind in ("users", "events", "reviews"):
        shutil.rmtree(out / "landing" / kind)
    return out


def churn_cmd(command: str, base: Path, as_of: str, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "churn_assets.app.cli",
        command,
        "--data-dir",
        str(base),
        "--as-of",
        as_of,
        "--out",
        str(out),
        *extra,
    ]


def run_args(base: Path, out: Path) -> list[str]:
    return churn_cmd("run", base, AS_OF, out, *RUN_ARGS)


def start(cmd: list[str], log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("CHURN_DATA_DIR", "DAGSTER_HOME", "CHURN_START_DATE")}
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)


def finish(cmd: list[str], log: Path, timeout_s: float = RUN_TIMEOUT_S) -> None:
    proc = start(cmd, log)
    try:
        rc = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(
            f"{' '.join(cmd[3:])} did not finish in {timeout_s}s; log tail:\n{log.read_text()[-3000:]}"
        ) from None
    assert rc == 0, f"exit {rc}; log tail:\n{log.read_text()[-3000:]}"


def lock_record(base: Path) -> dict | None:
    text = run_lock_path(base / "churn.duckdb").read_text() if run_lock_path(base / "churn.duckdb").exists() else ""
    return json.loads(text) if text else None


def instance(base: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(base / "dagster_home"))


def started_steps(base: Path, run_ids: list[str]) -> set[str]:
    with instance(base) as inst:
        return {
            e.step_key for r in run_ids for e in inst.all_logs(r, of_type=dg.DagsterEventType.STEP_START) if e.step_key
        }


def wait_until(
    proc: subprocess.Popen, base: Path, step: str, log: Path, mlflow_open: bool = False, timeout_s: float = 300
) -> dict:
    """Poll the holder's lock record until one of its runs has started `step` (and, with mlflow_open, has an
    MLflow run open); returns the record. Fails when the process ends first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before step {step}; log tail:\n{log.read_text()[-3000:]}"
        record = lock_record(base)
        if record and record["dagster_runs"] and step in started_steps(base, record["dagster_runs"]):
            if not mlflow_open or record["mlflow_runs"]:
                return record
        time.sleep(0.1)
    raise AssertionError(f"step {step} did not start within {timeout_s}s")


def read_list(path: Path) -> pd.DataFrame:
    return pd.read_csv(path).sort_values("user_id").reset_index(drop=True)


def assert_same_list(got: Path, want: Path, tol: float = 1e-9) -> None:
    a, b = read_list(got), read_list(want)
    assert a["user_id"].tolist() == b["user_id"].tolist(), "different users listed"
    diff = float(np.max(np.abs(a["churn_probability"].to_numpy() - b["churn_probability"].to_numpy())))
    assert diff <= tol, f"probabilities differ by up to {diff}"
    changed = int((a["tier"] != b["tier"]).sum())
    assert changed == 0, f"{changed} users changed tier"
    assert (a["reasons"].fillna("") == b["reasons"].fillna("")).all() and (a["action"] == b["action"]).all()


def copy_shop(src: Path, dst: Path, keep_warehouse: bool) -> Path:
    """A copy of a shop's landing files (and, with keep_warehouse, its ingested DuckDB file and Dagster instance;
    never its MLflow store, whose artifact paths point into `src`). copytree keeps file times: ingested days stay
    'unchanged'."""
    ignore = ["mlflow", "exports", "models", "reports", "*.run.lock"]
    if not keep_warehouse:
        ignore += ["churn.duckdb*", "dagster_home"]
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*ignore))
    return dst
