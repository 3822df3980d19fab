"""Jobs: ingest a range of daily partitions; build everything downstream of the raw tables."""

from __future__ import annotations

import dagster as dg

# DuckDB takes one writer per file: steps of a run execute one after another in one process.
ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.groups("ingest"),
    description="Landing files -> raw.* / quarantine.* for the selected daily partitions.",
    executor_def=dg.in_process_executor,
)
build_job = dg.define_asset_job(
    "build_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("ingest"),
    description="Staging, features, labels and training set from the raw tables.",
    executor_def=dg.in_process_executor,
)
