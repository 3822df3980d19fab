"""Realized-churn monitoring: every earlier risk list against what happened once its horizon passed."""

import dagster as dg
import duckdb as duckdb_lib
import pandas as pd

from churn_assets.defs.assets.evaluation import inline_png
from churn_assets.defs.assets.scoring import RISK_LIST
from churn_assets.defs.resources import DataDirectory, DuckDBWarehouse, PipelineSettings
from churn_assets.ml.outcomes import plot_realized_trend, realized_churn_trend
from churn_assets.warehouse.sql_project import QUERIES_DIR
from churn_assets.warehouse.tables import replace_table

REALIZED_CHURN = "monitoring.realized_churn"
OUTCOMES_SQL = QUERIES_DIR / "realized_outcomes.sql"


def realized_outcomes(con: duckdb_lib.DuckDBPyConnection, horizon_days: int) -> pd.DataFrame:
    """One row per (risk list day, user): score, tier, realized label (NULL while pending), recency."""
    schema, table = RISK_LIST.split(".")
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0]
    if not exists:
        raise RuntimeError(f"{RISK_LIST} does not exist yet: materialize scoring/risk_list for at least one day first")
    return con.execute(OUTCOMES_SQL.read_text(), {"horizon_days": int(horizon_days)}).df()


@dg.asset(
    key=dg.AssetKey(["monitoring", "realized_churn"]),
    deps=[
        dg.AssetKey(["scoring", "risk_list"]),
        dg.AssetKey(["staging", "orders"]),
        dg.AssetKey(["intermediate", "data_window"]),
    ],
    group_name="monitoring",
    pool="duckdb",
    description="Closes the loop from prediction to outcome: for every earlier risk list whose horizon has passed in "
    "the data, the realized churn rate per tier, ROC-AUC of that day's scores against the realized labels, the "
    "precision of the high tier, and the same for the recency baseline (days since the last order). Days still "
    "inside their horizon are listed as pending. Trend table monitoring.realized_churn and a plot.",
    kinds={"python", "duckdb"},
)
def realized_churn(
    context: dg.AssetExecutionContext, duckdb: DuckDBWarehouse, settings: PipelineSettings, data_dir: DataDirectory
) -> dg.MaterializeResult:
    with duckdb.connect() as con:
        outcomes = realized_outcomes(con, settings.horizon_days)
    trend = realized_churn_trend(outcomes)
    with duckdb.connect() as con:
        replace_table(con, REALIZED_CHURN, trend)
    measured, pending = trend[trend["status"] == "measured"], trend[trend["status"] == "pending"]
    plot = plot_realized_trend(trend, data_dir.reports_dir() / "monitoring" / "realized_churn.png")
    context.log.info(
        f"{len(measured)} risk lists measured, {len(pending)} pending (horizon {settings.horizon_days} days)"
    )
    shown = [
        "as_of_date",
        "status",
        "n_scored",
        "churn_rate_high",
        "churn_rate_medium",
        "churn_rate_low",
        "roc_auc",
        "recency_roc_auc",
        "precision_high",
        "recency_precision_high",
    ]
    metadata = {
        "dagster/row_count": len(trend),
        "dagster/table_name": REALIZED_CHURN,
        "horizon_days": settings.horizon_days,
        "measured_days": len(measured),
        "pending_days": dg.MetadataValue.json([str(d) for d in pending["as_of_date"]]),
        "trend": dg.MetadataValue.md(trend[shown].round(4).to_markdown(index=False)),
        "plot_realized_churn": dg.MetadataValue.md(inline_png(plot, "realized churn per tier and ROC-AUC")),
    }
    if len(measured):
        latest = measured.iloc[-1]
        metadata["latest_measured_day"] = str(latest["as_of_date"])
        for key in ("roc_auc", "recency_roc_auc", "precision_high", "recency_precision_high"):
            if pd.notna(latest[key]):
                metadata[f"latest_{key}"] = dg.MetadataValue.float(float(latest[key]))
    return dg.MaterializeResult(metadata=metadata)
