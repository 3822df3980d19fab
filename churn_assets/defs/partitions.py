"""Daily partitions of the raw data, from the shop's first day.

The first partition is env CHURN_START_DATE when set, else the first day of the data directory's landing files,
else 2026-01-01 (the embedded simulated shop's first day). Days before the first partition cannot be ingested,
so the start follows the data. build_definitions works it out each time definitions are built, never at import.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from churn_assets.ingest.landing_files import landing_days

# run tags of a run over a range of partitions (one run ingests many days)
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
START_DATE_ENV = "CHURN_START_DATE"
DEFAULT_START_DATE = "2026-01-01"  # first day of the embedded simulated shop


def partitions_start(landing: Path) -> str:
    if os.environ.get(START_DATE_ENV):
        return os.environ[START_DATE_ENV]
    days = landing_days(landing)
    return days[0].isoformat() if days else DEFAULT_START_DATE


def daily_partitions(start: str) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=start, end_offset=1)
