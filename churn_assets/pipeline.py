"""Run the pipeline end to end through the Dagster jobs (runs show in the Dagster UI)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Sequence

import dagster as dg

from churn_assets.contract import SOURCES
from churn_assets.ingest.read_files import landing_suffix

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def landing_days(landing: Path, kinds: Sequence[str] = tuple(SOURCES)) -> list[date]:
    """Days that have at least one landing file of the given kinds (from the file names)."""
    days = set()
    for kind in kinds:
        folder = landing / kind
        if folder.is_dir():
            for p in folder.iterdir():
                if p.is_file() and landing_suffix(p):
                    try:
                        days.add(date.fromisoformat(p.name[:10]))
                    except ValueError:
                        continue
    return sorted(days)


def run_job(defs: dg.Definitions, name: str, instance: dg.DagsterInstance, tags: dict | None = None, run_config=None):
    started = time.monotonic()
    job = defs.resolve_job_def(name)
    result = job.execute_in_process(instance=instance, tags=tags or {}, run_config=run_config, raise_on_error=True)
    print(f"[churn] {name}: {len(result.get_asset_materialization_events())} materializations in {time.monotonic() - started:.1f}s")
    return result


def ingest_range(defs: dg.Definitions, instance: dg.DagsterInstance, first: date, last: date, landing: Path | None = None):
    run_config = None
    if landing is not None:
        run_config = {"ops": {f"raw__{k}": {"config": {"landing_dir": str(landing)}} for k in SOURCES}}
    tags = {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}
    return run_job(defs, "ingest_job", instance, tags=tags, run_config=run_config)
