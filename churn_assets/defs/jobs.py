"""Jobs: ingest daily partitions; build features and labels; train and evaluate; score one day; measure
realized churn of earlier risk lists.

Steps of a run execute one after another in one process: DuckDB takes one writer per file. The partitioned jobs
take their daily partitions from the assets they select (build_definitions gives those their start day).
"""

import dagster as dg

from churn_assets.defs.assets.text import NEW_REVIEW_SCORES
from churn_assets.defs.checks.model import CHAMPION_CHECK

# The champion's blocking check runs first in every scoring run: when it fails, the risk list is skipped.
CHAMPION_GATE = dg.AssetSelection.checks(CHAMPION_CHECK)

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.groups("ingest"),
    description="Landing files -> raw.* / quarantine.* for the selected daily partitions.",
    executor_def=dg.in_process_executor,
)
build_job = dg.define_asset_job(
    "build_job",
    selection=dg.AssetSelection.groups("staging", "text", "features", "labels"),
    description="Staging, the review-text model, point-in-time features, labels and the training set.",
    executor_def=dg.in_process_executor,
)
train_job = dg.define_asset_job(
    "train_job",
    selection=dg.AssetSelection.groups("training", "evaluation"),
    description="Train every model, move the champion alias when earned, write the evaluation report.",
    executor_def=dg.in_process_executor,
)
score_job = dg.define_asset_job(
    "score_job",
    selection=dg.AssetSelection.groups("scoring") | CHAMPION_GATE,
    description="Score every active user for the partition's day with the champion.",
    executor_def=dg.in_process_executor,
)
monitoring_job = dg.define_asset_job(
    "monitoring_job",
    selection=dg.AssetSelection.groups("monitoring"),
    description="Realized churn of every earlier risk list whose horizon has passed: rate per tier, AUC, trend.",
    executor_def=dg.in_process_executor,
)
# The daily run must see the day's new rows: scoring computes features from staging.* (full refreshes
# of raw.*), so staging is rebuilt first; then the partition is scored and its drift measured. The
# realized-churn report is refreshed in the same run, so a list is measured on the day its horizon passes.
# The review-text model is not retrained daily (minutes of fine-tuning), but a fresh complaint is a strong
# churn signal: ml/new_review_scores scores the reviews that arrived since its last run with the saved
# model (seconds) before the risk list reads the text features; retrain_job still rewrites every score.
daily_score_job = dg.define_asset_job(
    "daily_score_job",
    selection=dg.AssetSelection.groups("staging", "scoring", "drift", "monitoring")
    | dg.AssetSelection.assets(NEW_REVIEW_SCORES)
    | CHAMPION_GATE,
    description="Refresh staging from raw.*, score new reviews with the saved text model, score every active user "
    "for the partition's day with the champion, measure that day's drift (PSI) against the training window, and "
    "refresh the realized churn of earlier lists.",
    executor_def=dg.in_process_executor,
)
# Retraining on a stale training set would refit the same rows: the weekly (and drift-triggered)
# retraining rebuilds staging, text scores, features, labels and the training set, then trains.
retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=dg.AssetSelection.groups("staging", "text", "features", "labels", "training", "evaluation"),
    description="build_job then train_job in one run: refresh the training set with the newest data, retrain "
    "every model, move the champion alias when earned, rewrite the evaluation report.",
    executor_def=dg.in_process_executor,
)

jobs = [ingest_job, build_job, train_job, score_job, monitoring_job, daily_score_job, retrain_job]
