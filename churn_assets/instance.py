"""The Dagster instance lives under the data directory (DAGSTER_HOME = <data dir>/dagster_home)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from churn_assets import paths

# Runs of one instance queue through here; DuckDB writers are serialised by the "duckdb" pool.
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def ensure_dagster_home(base: Path | None = None) -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or paths.dagster_home(base))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance() -> dg.DagsterInstance:
    ensure_dagster_home()
    return dg.DagsterInstance.get()
