"""The Dagster instance of a data directory: <data dir>/dagster_home, with the project's dagster.yaml. Opened by
path: nothing here reads or changes DAGSTER_HOME in the environment."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from churn_assets.warehouse import paths


def dagster_yaml(max_concurrent_runs: int | None = None) -> str:
    """The instance's dagster.yaml. Runs of one instance queue through here; DuckDB writers are serialised
    by the "duckdb" pool. max_concurrent_runs=0 keeps every queued run waiting (a UI test wants only the runs
    it started itself, not those that sensors request)."""
    concurrency: dict = {"pools": {"default_limit": 1}}
    if max_concurrent_runs is not None:
        concurrency["runs"] = {"max_concurrent_runs": max_concurrent_runs}
    return yaml.safe_dump({"telemetry": {"enabled": False}, "concurrency": concurrency}, sort_keys=False)


def write_dagster_yaml(home: Path, max_concurrent_runs: int | None = None) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    config.write_text(dagster_yaml(max_concurrent_runs))
    return config


def ensure_dagster_home(home: Path) -> Path:
    """`home` with a dagster.yaml (an existing one is kept)."""
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        write_dagster_yaml(home)
    return home


def init_dagster_storage(home: str | Path) -> None:
    """Create the SQLite storage of the instance at `home` (runs, schedules, event log index), stamped at
    Dagster's head revision, unless it exists already.

    Dagster creates a missing storage when an instance is first opened, with nothing that serialises two
    processes doing so: on a fresh DAGSTER_HOME, two openers at once (a test's `DagsterInstance.from_config`
    and a starting `dagster dev`) can both create the tables and stamp `alembic_version`, and one fails with
    `UNIQUE constraint failed: alembic_version.version_num` (or leaves two heads behind). Call this before
    starting a server on `home`, so that every process opens a storage that exists.
    """
    dg.DagsterInstance.from_config(str(home)).dispose()


def data_dir_instance(base: Path) -> dg.DagsterInstance:
    """The persistent instance of the data directory `base` (its runs show in `make ui DATA_DIR=<base>`)."""
    return dg.DagsterInstance.from_config(str(ensure_dagster_home(paths.dagster_home(base))))
