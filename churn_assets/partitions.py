"""Daily partitions of the raw data, from the shop's first day.

The first partition is env CHURN_START_DATE when set, else the first day of the landing files in the data
directory (CHURN_DATA_DIR, read when the code location loads), else 2026-01-01, the embedded simulated
shop's first day. Days before the first partition cannot be ingested, so the start follows the data.
"""

from __future__ import annotations

import os

import dagster as dg

from churn_assets import paths
from churn_assets.pipeline import landing_days

START_DATE_ENV = "CHURN_START_DATE"
DEFAULT_START_DATE = "2026-01-01"  # first day of the embedded simulated shop


def partitions_start() -> str:
    if os.environ.get(START_DATE_ENV):
        return os.environ[START_DATE_ENV]
    days = landing_days(paths.landing_dir())
    return days[0].isoformat() if days else DEFAULT_START_DATE


daily_partitions = dg.DailyPartitionsDefinition(start_date=partitions_start(), end_offset=1)
