"""Daily partitions of the raw data, from the shop's first day (env CHURN_START_DATE)."""

from __future__ import annotations

import os

import dagster as dg

START_DATE_ENV = "CHURN_START_DATE"
DEFAULT_START_DATE = "2026-01-01"  # first day of the embedded simulated shop

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get(START_DATE_ENV, DEFAULT_START_DATE), end_offset=1
)
