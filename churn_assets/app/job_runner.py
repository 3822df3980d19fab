"""Running the project's Dagster jobs for the `churn` command: one job at a time in this process, on the data
directory's instance, with the warehouse held across them (churn_assets/warehouse/run_lock.py), and a failing step turned
into one line the user can act on (CliError).

Light imports only at module level (the heavy ones happen inside the functions): `churn --help` stays quick.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any


class CliError(Exception):
    """A problem the user can fix: printed as one line plus its cause, exit code 2."""

    def __init__(self, message: str, cause: str | None = None):
        super().__init__(message)
        self.cause = cause


def log(msg: str) -> None:
    print(f"[churn] {msg}", flush=True)


def unwrap(exc: BaseException) -> tuple[str | None, BaseException]:
    """The failing step and the user code's exception inside Dagster's wrappers: the first exception that is not
    Dagster's own. Its causes are details (a LandingFileError names the file; the UnicodeDecodeError under it does not)."""
    from dagster import DagsterError

    step, seen = None, exc
    while isinstance(seen, DagsterError):
        step = step or getattr(seen, "step_key", None)
        nxt = getattr(seen, "user_exception", None) or seen.__cause__
        if nxt is None or nxt is seen:
            break
        seen = nxt
    return step, seen


class Runner:
    """The project's jobs on one data directory: definitions built for it (daily partitions from `first_day`) and
    its persistent Dagster instance."""

    def __init__(self, base: Path, first_day: date):
        import dagster as dg

        from churn_assets.app.instance import data_dir_instance
        from churn_assets.defs.build import build_definitions

        self.dg = dg
        self.defs = build_definitions(base, start_date=first_day.isoformat())
        self.instance = data_dir_instance(base)
        self.base = base

    def run(
        self,
        job_name: str,
        what: str,
        run_config: dict | None = None,
        tags: dict | None = None,
        asset_selection: list | None = None,
    ) -> Any:
        started = time.monotonic()
        log(f"step: {what} ({job_name})")
        job = self.defs.resolve_job_def(job_name)
        config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}, **(run_config or {})}
        try:
            # Dagster's run log (progress, and a failing step's traceback) goes to stdout with the progress
            # lines; stderr keeps only the one-line error and its cause
            with contextlib.redirect_stderr(sys.stdout):
                result = job.execute_in_process(
                    instance=self.instance,
                    run_config=config,
                    tags=tags or {},
                    asset_selection=asset_selection,
                    raise_on_error=True,
                )
        except self.dg.DagsterExecutionInterruptedError:  # Ctrl-C or SIGTERM inside a step: the run is marked failed
            raise KeyboardInterrupt from None
        except Exception as exc:
            step, cause = unwrap(exc)
            raise CliError(f"{what} failed in step {step or job_name}", f"{type(cause).__name__}: {cause}") from exc
        n = len(result.get_asset_materialization_events())
        log(f"  done: {n} assets materialized in {time.monotonic() - started:.1f}s (run {result.run_id[:8]})")
        return result


def settings_config(**values: Any) -> dict:
    return {"resources": {"settings": {"config": {k: v for k, v in values.items() if v is not None}}}}


def merge_config(*configs: dict) -> dict:
    out: dict = {}
    for c in configs:
        for k, v in c.items():
            out[k] = merge_config(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@contextlib.contextmanager
def exclusive(base: Path, what: str) -> Iterator[None]:
    """The whole command holds the data directory (churn_assets/warehouse/run_lock.py): a scoring run of another day must not
    rebuild staging with its own cut-off date between this command's jobs. A command started meanwhile waits."""
    from churn_assets.app.instance import data_dir_instance
    from churn_assets.warehouse import paths
    from churn_assets.warehouse.recovery import hold_warehouse
    from churn_assets.warehouse.run_lock import RunLockTimeout

    try:  # the runs the command starts take the same lock (re-entrant); a dead holder is recovered on the instance
        with hold_warehouse(paths.duckdb_path(base), what, log, lambda: data_dir_instance(base)):
            yield
    except RunLockTimeout as exc:
        raise CliError("another run holds this data directory", str(exc)) from exc
