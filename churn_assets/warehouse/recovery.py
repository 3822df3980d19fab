"""Closing what a crashed run left open, when the next run takes the warehouse lock (churn_assets/warehouse/run_lock.py).

A run killed by kill -9, an OOM kill or a power loss stays STARTED in Dagster, keeps its slot of the `duckdb`
pool (so the next run's steps would wait on it for ever) and leaves its MLflow runs RUNNING. The lock proves
its holder is dead, so the next holder marks those Dagster runs failed, frees their pool slots and ends their
MLflow runs as FAILED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from churn_assets.warehouse.run_lock import DEFAULT_TIMEOUT_S, HolderRecord, hold_run_lock, run_lock_path


@contextmanager
def hold_warehouse(
    warehouse: str | Path,
    purpose: str,
    log: Callable[[str], None],
    instance: Callable[[], dg.DagsterInstance],
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Iterator[None]:
    """Hold the run lock of the DuckDB file `warehouse`, waiting (and saying so) while another run holds it; a
    holder that died is recovered first, on the Dagster instance `instance()` returns."""
    with hold_run_lock(
        run_lock_path(warehouse),
        purpose=purpose,
        timeout_s=timeout_s,
        on_wait=log,
        on_stale=lambda record: recover_dead_holder(instance(), record, log),
    ):
        yield


def recover_dead_holder(instance: dg.DagsterInstance, record: HolderRecord, log: Callable[[str], None]) -> None:
    why = f"the process that ran it ({record.describe()}) died without finishing"
    for run_id in record.dagster_runs:
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            instance.report_run_failed(run, message=f"Marked failed by the next run on this warehouse: {why}.")
            log(f"recovered: Dagster run {run_id} marked failed ({why})")
        # steps of a killed run keep their pool slots: the next run's steps would wait on them for ever
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    for uri, mlflow_run_id in record.mlflow_runs:
        _fail_mlflow_run(uri, mlflow_run_id, log)
    if record.pid == -1:
        log(f"recovered: ignored a damaged lock record ({record.purpose})")


def _fail_mlflow_run(uri: str, run_id: str, log: Callable[[str], None]) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(uri)
    try:
        if client.get_run(run_id).info.status == "RUNNING":
            client.set_terminated(run_id, status="FAILED")
            log(f"recovered: MLflow run {run_id} ended as FAILED")
    except MlflowException as exc:  # the run's store may be gone or unreachable: nothing left to close
        log(f"recovered: MLflow run {run_id} could not be closed ({exc})")
