"""The Dagster code location: assets, jobs and resources of churn_assets."""

from __future__ import annotations

import dagster as dg

from churn_assets.assets.ingest import ingest_assets
from churn_assets.assets.labels import training_set
from churn_assets.assets.sql_models import sql_assets
from churn_assets.jobs import build_job, ingest_job
from churn_assets.resources import DuckDBWarehouse, PipelineSettings

defs = dg.Definitions(
    assets=[*ingest_assets, *sql_assets, training_set],
    jobs=[ingest_job, build_job],
    resources={"duckdb": DuckDBWarehouse(), "settings": PipelineSettings()},
)
