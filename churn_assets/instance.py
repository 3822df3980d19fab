"""The Dagster instance lives under the data directory (DAGSTER_HOME = <data dir>/dagster_home)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import yaml

from churn_assets import paths


def dagster_yaml(max_concurrent_runs: int | None = None) -> str:
    """The instance's dagster.yaml. Runs of one instance queue through here; DuckDB writers are serialised
    by the "duckdb" pool. max_concurrent_runs=0 keeps every queued run waiting (a UI test wants only the runs
    it started itself, not those that sensors request)."""
    concurrency: dict = {"pools": {"default_limit": 1}}
    if max_concurrent_runs is not None:
        concurrency["runs"] = {"max_concurrent_runs": max_concurrent_runs}
    return yaml.safe_dump({"telemetry": {"enabled": False}, "concurrency": concurrency}, sort_keys=False)


DAGSTER_YAML = dagster_yaml()


def write_dagster_yaml(home: Path, max_concurrent_runs: int | None = None) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    config.write_text(dagster_yaml(max_concurrent_runs))
    return config


def ensure_dagster_home(base: Path | None = None) -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or paths.dagster_home(base))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        write_dagster_yaml(home)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance() -> dg.DagsterInstance:
    ensure_dagster_home()
    return dg.DagsterInstance.get()
