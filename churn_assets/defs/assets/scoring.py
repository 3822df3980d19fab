"""Daily scoring: every active user's churn probability, risk tier, top reasons and recommended action."""

from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from churn_assets.defs.checks.model import refuse_failed_champion
from churn_assets.defs.resources import DUCKDB_POOL, DataDirectory, DuckDBWarehouse, MlflowTracking, PipelineSettings
from churn_assets.ml.actions import recommend_actions
from churn_assets.ml.explain import explain
from churn_assets.ml.reasons import reasons_frame
from churn_assets.ml.tiers import assign_tiers
from churn_assets.warehouse import paths
from churn_assets.warehouse.exports import export_frame, write_export
from churn_assets.warehouse.mlflow_store import load_champion
from churn_assets.warehouse.scoring_features import point_in_time_features

RISK_LIST = "scoring.risk_list"


class ScoringConfig(dg.Config):
    tier_rule: str = Field(
        default="probability", description="'probability' (cut-offs are probabilities) or 'share' (top shares)"
    )
    high: float = Field(default=0.6, description="high tier: p >= high, or the top `high` share")
    medium: float = Field(default=0.3, description="medium tier: p >= medium, or the next `medium` share")
    n_reasons: int = Field(default=3, description="reasons per user")


def risk_list(features: pd.DataFrame, model, config: ScoringConfig) -> pd.DataFrame:
    p = model.predict_proba(features)[:, 1]
    tiers = assign_tiers(p, {"rule": config.tier_rule, "high": config.high, "medium": config.medium})
    reasons = explain(model, features, k=config.n_reasons)
    out = pd.DataFrame(
        {"user_id": features["user_id"], "as_of_date": features["as_of_date"], "churn_probability": p, "tier": tiers}
    )
    out = pd.concat([out, reasons_frame(reasons, k=config.n_reasons, index=out.index)], axis=1)
    out["action"] = recommend_actions(list(tiers), reasons)
    return out.sort_values("churn_probability", ascending=False).reset_index(drop=True)


def export(scored: pd.DataFrame, data_dir: DataDirectory, day: date) -> dict[str, Path]:
    csv = paths.risk_list_export(data_dir.base, day.isoformat())
    frame = export_frame(scored)
    return {"csv": write_export(frame, csv), "parquet": write_export(frame, csv.with_suffix(".parquet"))}


def scored_risk_list(
    context: dg.AssetExecutionContext,
    config: ScoringConfig,
    duckdb: DuckDBWarehouse,
    settings: PipelineSettings,
    mlflow: MlflowTracking,
    data_dir: DataDirectory,
) -> dg.MaterializeResult:
    day = date.fromisoformat(context.partition_key)
    champion = load_champion(mlflow)
    if champion is None:
        raise RuntimeError(f"no model has the alias {mlflow.champion_uri()}: materialize ml/champion first")
    model, version = champion
    # a run without the blocking check (the risk list materialized alone) still refuses a failed champion
    context.log.info(refuse_failed_champion(context.instance, str(version.version)))
    with duckdb.connect() as con:
        features = point_in_time_features(con, day, settings.sql_params())
    scored = risk_list(features, model, config)
    scored["model_version"] = str(version.version)
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS scoring")
        con.register("frame", scored)
        con.execute(f"CREATE TABLE IF NOT EXISTS {RISK_LIST} AS SELECT * FROM frame LIMIT 0")
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {RISK_LIST} WHERE as_of_date = ?", [day])
        con.execute(f"INSERT INTO {RISK_LIST} BY NAME SELECT * FROM frame")
        con.execute("COMMIT")
        con.unregister("frame")
    files = export(scored, data_dir, day)
    counts = scored["tier"].value_counts().reindex(["high", "medium", "low"], fill_value=0)
    context.log.info(f"{day}: {len(scored)} users scored, tiers {counts.to_dict()}, list at {files['csv']}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(scored),
            "tier_counts": dg.MetadataValue.json({k: int(v) for k, v in counts.items()}),
            "champion_version": str(version.version),
            "export_csv": dg.MetadataValue.path(str(files["csv"])),
            "export_parquet": dg.MetadataValue.path(str(files["parquet"])),
            "top_20": dg.MetadataValue.md(scored.head(20).round(3).to_markdown(index=False)),
        }
    )


def build_scored_risk_list(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """scored_risk_list as the daily-partitioned asset scoring/risk_list."""
    return dg.asset(
        key=dg.AssetKey(["scoring", "risk_list"]),
        # the day's new reviews carry text scores (ml/new_review_scores) before features are read
        deps=[
            dg.AssetKey(["ml", "champion"]),
            dg.AssetKey(["staging", "orders"]),
            dg.AssetKey(["ml", "new_review_scores"]),
        ],
        partitions_def=partitions,
        group_name="scoring",
        pool=DUCKDB_POOL,  # DuckDB takes one process at a time
        description="For the partition's day: every active user once, with the champion's churn probability, risk "
        "tier (high / medium / low), top reasons in plain words and a recommended action. Kept in scoring.risk_list "
        "and exported to <data dir>/exports/risk_list/<day>.csv and .parquet.",
        kinds={"python", "duckdb"},
    )(scored_risk_list)
