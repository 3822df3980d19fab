"""The Dagster code location: assets, jobs and resources of churn_assets."""

from __future__ import annotations

import dagster as dg

from churn_assets.assets.drift import drift
from churn_assets.assets.evaluation import evaluation
from churn_assets.assets.ingest import ingest_assets
from churn_assets.assets.labels import training_set
from churn_assets.assets.monitoring import realized_churn
from churn_assets.assets.scoring import scored_risk_list
from churn_assets.assets.sql_models import sql_assets
from churn_assets.assets.text import new_review_scores, review_negativity
from churn_assets.assets.training import champion, trained_models
from churn_assets.checks import asset_checks
from churn_assets.jobs import build_job, daily_score_job, ingest_job, monitoring_job, retrain_job, score_job, train_job
from churn_assets.resources import DuckDBWarehouse, MlflowTracking, PipelineSettings
from churn_assets.schedules import daily_scoring_schedule, weekly_retrain_schedule
from churn_assets.sensors import champion_alias_sensor, drift_sensor, landing_files_sensor


def build_definitions(
    duckdb: DuckDBWarehouse | None = None,
    settings: PipelineSettings | None = None,
    mlflow: MlflowTracking | None = None,
) -> dg.Definitions:
    """Definitions with default resources (paths under the data directory), or the ones given (tests)."""
    return dg.Definitions(
        assets=[*ingest_assets, *sql_assets, training_set, review_negativity, new_review_scores, trained_models, champion, evaluation, scored_risk_list, realized_churn, drift],
        asset_checks=asset_checks,
        jobs=[ingest_job, build_job, train_job, score_job, monitoring_job, daily_score_job, retrain_job],
        schedules=[daily_scoring_schedule, weekly_retrain_schedule],
        sensors=[landing_files_sensor, champion_alias_sensor, drift_sensor],
        # runs from the UI too execute in one process: resources (the warehouse's run lock) are set up once per run
        executor=dg.in_process_executor,
        resources={
            "duckdb": duckdb or DuckDBWarehouse(),
            "settings": settings or PipelineSettings(),
            "mlflow": mlflow or MlflowTracking(),
        },
    )


defs = build_definitions()
