"""Drift of a scored day against the training window: PSI of the main features and of the churn score.

The PSI figures land in monitoring.drift (one row per column per scored day); the drift sensor reads
them and asks for retraining when one is above the threshold.
"""

import os
from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse, MlflowTracking, PipelineSettings
from churn_assets.ml.drift import psi_table
from churn_assets.warehouse.mlflow_store import load_champion
from churn_assets.warehouse.scoring_features import point_in_time_features

DRIFT = "monitoring.drift"
SCORE_COLUMN = "churn_probability"
PSI_THRESHOLD_ENV = "CHURN_DRIFT_PSI_THRESHOLD"
DEFAULT_PSI_THRESHOLD = 0.2

# The behaviour the models lean on most: recency, frequency, spend, visits, service, complaints, text signal.
# Windowed figures only: running totals (orders_total, tenure_days) grow with the age of the data and would
# read as drift every day.
MAIN_FEATURES = [
    "days_since_last_order",
    "recency_over_typical_gap",
    "orders_30d",
    "orders_90d",
    "amount_sum_90d",
    "amount_mean",
    "sessions_30d",
    "page_views_30d",
    "logins_30d",
    "days_since_last_event",
    "discount_share",
    "late_deliveries_90d",
    "complaints_90d",
    "rating_mean_90d",
    "text_neg_mean_90d",
]


def psi_threshold() -> float:
    """PSI above which a column counts as drifted (env CHURN_DRIFT_PSI_THRESHOLD, default 0.2)."""
    raw = os.environ.get(PSI_THRESHOLD_ENV, "")
    try:
        return float(raw) if raw else DEFAULT_PSI_THRESHOLD
    except ValueError as exc:
        raise ValueError(f"{PSI_THRESHOLD_ENV}={raw!r} is not a number") from exc


class DriftConfig(dg.Config):
    features: list[str] = Field(default=MAIN_FEATURES, description="numeric columns of marts.user_features compared")
    bins: int = Field(default=10, description="quantile bins of the reference distribution")
    reference_splits: list[str] = Field(
        default=["train"], description="splits of marts.training_set that make the reference window"
    )
    score_reference_rows: int = Field(
        default=20000,
        description="rows of the window (a fixed-seed sample) the champion re-scores as the score reference",
    )
    seed: int = 7


def ensure_drift_table(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS monitoring")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {DRIFT} (as_of_date DATE, kind VARCHAR, column_name VARCHAR, psi DOUBLE, "
        "reference VARCHAR, reference_rows BIGINT, current_rows BIGINT, reference_missing_share DOUBLE, "
        "current_missing_share DOUBLE, reference_mean DOUBLE, current_mean DOUBLE, model_version VARCHAR, "
        "computed_at TIMESTAMP)"
    )


def build_drift(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["monitoring", "drift"]),
        deps=[dg.AssetKey(["scoring", "risk_list"]), dg.AssetKey(["marts", "training_set"])],
        partitions_def=partitions,
        group_name="drift",
        pool=DUCKDB_POOL,  # DuckDB takes one process at a time
        description="Population stability index of the scored day against the training window (the train split "
        "of marts.training_set): each main feature (this day's point-in-time features vs the window's rows) and the "
        "churn score (this day's risk list vs the champion re-scoring the window). Rows in monitoring.drift; the "
        "drift sensor requests retraining when a PSI exceeds CHURN_DRIFT_PSI_THRESHOLD (default 0.2).",
        kinds={"python", "duckdb"},
    )
    def drift(
        context: dg.AssetExecutionContext,
        config: DriftConfig,
        duckdb: DuckDBWarehouse,
        settings: PipelineSettings,
        mlflow: MlflowTracking,
    ) -> dg.MaterializeResult:
        day = date.fromisoformat(context.partition_key)
        with duckdb.connect() as con:
            scores, reference, scored_sample, current = _read_day_and_window(con, day, config, settings)
        table, features, window = _psi_rows(day, config, scores, reference, scored_sample, current, mlflow)
        with duckdb.connect() as con:
            ensure_drift_table(con)
            con.register("drift_rows", table)
            con.execute("BEGIN TRANSACTION")
            con.execute(f"DELETE FROM {DRIFT} WHERE as_of_date = ?", [day])
            con.execute(f"INSERT INTO {DRIFT} BY NAME SELECT * FROM drift_rows")
            con.execute("COMMIT")
            con.unregister("drift_rows")
        return _drift_result(context, day, table, features, window)

    return drift


def _read_day_and_window(con, day: date, config: DriftConfig, settings: PipelineSettings) -> tuple[pd.DataFrame, ...]:
    """The day's scores, the reference window's feature rows, a sample of the window for the champion to
    re-score, and the day's point-in-time features."""
    scores = con.execute(f"SELECT {SCORE_COLUMN} FROM scoring.risk_list WHERE as_of_date = ?", [day]).df()
    if scores.empty:
        raise RuntimeError(f"scoring.risk_list has no rows for {day}: score the partition first")
    known = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'marts' AND table_name = 'training_set'"
        ).fetchall()
    }
    wanted = ", ".join(f'"{c}"' for c in ["as_of_date", *config.features] if c in known)  # names checked above
    in_window = "list_contains(CAST($splits AS VARCHAR[]), split)"
    reference = con.execute(
        f"SELECT {wanted} FROM marts.training_set WHERE {in_window}", {"splits": config.reference_splits}
    ).df()
    # the champion re-scores a sample of the window (inference on every row would cost minutes)
    scored_sample = con.execute(
        f"SELECT * FROM (SELECT * FROM marts.training_set WHERE {in_window}) "
        f"USING SAMPLE reservoir({int(config.score_reference_rows)} ROWS) REPEATABLE ({int(config.seed)})",
        {"splits": config.reference_splits},
    ).df()
    current = point_in_time_features(con, day, settings.sql_params())
    if reference.empty:
        raise RuntimeError(
            f"marts.training_set has no rows in splits {config.reference_splits}: build the training set first"
        )
    return scores, reference, scored_sample, current


def _psi_rows(
    day: date,
    config: DriftConfig,
    scores: pd.DataFrame,
    reference: pd.DataFrame,
    scored_sample: pd.DataFrame,
    current: pd.DataFrame,
    mlflow: MlflowTracking,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """monitoring.drift rows of the day: the score's PSI first, then each feature's."""
    first, last = (pd.Timestamp(reference["as_of_date"].agg(f)).date() for f in ("min", "max"))
    window = f"{'+'.join(config.reference_splits)} as-of {first}..{last}"
    features = psi_table(reference, current, config.features, bins=config.bins).assign(kind="feature", reference=window)
    champion = load_champion(mlflow)
    if champion is None:
        raise RuntimeError(f"no model has the alias {mlflow.champion_uri()}: materialize ml/champion first")
    model, version = champion
    reference_scores = pd.DataFrame({SCORE_COLUMN: model.predict_proba(scored_sample)[:, 1]})
    score_window = f"champion v{version.version} on {len(scored_sample)} rows of {window}"
    score = psi_table(reference_scores, scores, [SCORE_COLUMN], bins=config.bins)
    score = score.assign(kind="score", reference=score_window)
    table = pd.concat([score, features], ignore_index=True).rename(columns={"column": "column_name"})
    table.insert(0, "as_of_date", day)
    table["model_version"] = str(version.version)
    table["computed_at"] = datetime.now(UTC).replace(tzinfo=None)
    return table, features, window


def _drift_result(
    context: dg.AssetExecutionContext, day: date, table: pd.DataFrame, features: pd.DataFrame, window: str
) -> dg.MaterializeResult:
    threshold = psi_threshold()
    score_psi = float(table.loc[table["kind"] == "score", "psi"].iloc[0])
    top = features.iloc[0] if len(features) else None
    drifted = table.loc[table["psi"] > threshold, "column_name"].tolist()
    context.log.info(
        f"{day}: score PSI {score_psi:.3f}; largest feature PSI {top['psi']:.3f} ({top['column']}); "
        f"above {threshold}: {drifted or 'none'}"
        if top is not None
        else f"{day}: score PSI {score_psi:.3f}"
    )
    shown = table[["kind", "column_name", "psi", "reference_mean", "current_mean", "current_missing_share"]]
    return dg.MaterializeResult(
        metadata={
            "score_psi": score_psi,
            "max_feature_psi": float(features["psi"].max()) if len(features) else 0.0,
            "drifted_columns": dg.MetadataValue.json(drifted),
            "psi_threshold": threshold,
            "reference": window,
            "psi": dg.MetadataValue.md(shown.round(4).to_markdown(index=False)),
            "dagster/row_count": len(table),
        }
    )
