"""Jobs: ingest daily partitions; build features and labels; train and evaluate; score one day.

Steps of a run execute one after another in one process: DuckDB takes one writer per file.
"""

import dagster as dg

from churn_assets.partitions import daily_partitions

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
    selection=dg.AssetSelection.groups("scoring"),
    partitions_def=daily_partitions,
    description="Score every active user for the partition's day with the champion.",
    executor_def=dg.in_process_executor,
)
