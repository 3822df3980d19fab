"""build_definitions: every asset, check, job, schedule and sensor of churn_assets, with resources pointing at one
data directory. Nothing here runs at import: the code location (churn_assets/definitions.py) calls it when Dagster
loads it, the `churn` command calls it for the data directory it works on, and tests call it with their own."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from churn_assets.defs.assets.drift import build_drift
from churn_assets.defs.assets.evaluation import evaluation
from churn_assets.defs.assets.ingest import build_ingest_assets
from churn_assets.defs.assets.labels import training_set
from churn_assets.defs.assets.monitoring import realized_churn
from churn_assets.defs.assets.scoring import build_scored_risk_list
from churn_assets.defs.assets.sql_models import sql_assets
from churn_assets.defs.assets.text import new_review_scores, review_negativity
from churn_assets.defs.assets.training import champion, trained_models
from churn_assets.defs.checks import build_asset_checks
from churn_assets.defs.jobs import jobs
from churn_assets.defs.partitions import daily_partitions, partitions_start
from churn_assets.defs.resources import DataDirectory, DuckDBWarehouse, MlflowTracking, PipelineSettings
from churn_assets.defs.schedules import build_schedules
from churn_assets.defs.sensors import build_sensors
from churn_assets.warehouse import paths


def _data_directory(base: Path | None) -> tuple[Path, DataDirectory]:
    """The data directory: `base` when given, else env CHURN_DATA_DIR (as a dg.EnvVar, so that the UI shows where
    it comes from), else ./data."""
    if base is not None:
        return base, DataDirectory(path=str(base))
    if os.environ.get(paths.DATA_DIR_ENV):
        return paths.default_data_dir(), DataDirectory(path=dg.EnvVar(paths.DATA_DIR_ENV))
    return paths.default_data_dir(), DataDirectory(path=str(paths.default_data_dir()))


def build_definitions(
    data_dir: Path | None = None,
    start_date: str | None = None,
    duckdb: DuckDBWarehouse | None = None,
    settings: PipelineSettings | None = None,
    mlflow: MlflowTracking | None = None,
) -> dg.Definitions:
    """Definitions on one data directory (see _data_directory). The daily partitions start on `start_date`, else
    on the first landing day found now (defs/partitions.py). Resources not given get their paths from the data
    directory: <data dir>/churn.duckdb and the MLflow store in <data dir>/mlflow."""
    base, directory = _data_directory(data_dir)
    partitions = daily_partitions(start_date or partitions_start(paths.landing_dir(base)))
    return dg.Definitions(
        assets=[
            *build_ingest_assets(partitions),
            *sql_assets,
            training_set,
            review_negativity,
            new_review_scores,
            trained_models,
            champion,
            evaluation,
            build_scored_risk_list(partitions),
            realized_churn,
            build_drift(partitions),
        ],
        asset_checks=build_asset_checks(partitions),
        jobs=jobs,
        schedules=build_schedules(partitions),
        sensors=build_sensors(partitions),
        # runs from the UI too execute in one process: resources (the warehouse's run lock) are set up once per run
        executor=dg.in_process_executor,
        resources={
            "data_dir": directory,
            "duckdb": duckdb or DuckDBWarehouse(data_dir=directory),
            "settings": settings or PipelineSettings(),
            "mlflow": mlflow or MlflowTracking(data_dir=directory),
        },
    )
