"""The training set: point-in-time features joined to churn labels, split by time."""

import dagster as dg
import pandas as pd

from churn_assets.defs.assets.sql_models import table_metadata
from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse, PipelineSettings
from churn_assets.ml.splits import time_split

TRAINING_SET = "marts.training_set"


def churn_rate_by_date(df: pd.DataFrame) -> pd.DataFrame:
    return (
        df.groupby(["as_of_date", "split"])
        .agg(active_users=("churned", "size"), churn_rate=("churned", "mean"))
        .reset_index()
        .round({"churn_rate": 3})
    )


@dg.asset(
    key=dg.AssetKey(["marts", "training_set"]),
    deps=[dg.AssetKey(["marts", "user_features"]), dg.AssetKey(["labels", "churn_labels"])],
    group_name="labels",
    pool=DUCKDB_POOL,  # DuckDB takes one process at a time
    description="marts.user_features joined to labels.churn_labels with a `split` column "
    "(train / valid / test by as-of date, newest = test; label windows of different splits do not overlap).",
    kinds={"duckdb", "python"},
)
def training_set(
    context: dg.AssetExecutionContext, duckdb: DuckDBWarehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    with duckdb.connect() as con:
        dates = [r[0] for r in con.execute("SELECT DISTINCT as_of_date FROM labels.churn_labels ORDER BY 1").fetchall()]
        split = time_split(
            dates, settings.horizon_days, settings.n_test_dates, settings.n_valid_dates, settings.embargo
        )
        splits = pd.DataFrame({"as_of_date": list(split), "split": list(split.values())})
        con.register("as_of_splits", splits)
        con.execute(
            f"""CREATE OR REPLACE TABLE {TRAINING_SET} AS
            SELECT f.*, l.churned, s.split
            FROM marts.user_features AS f
            JOIN labels.churn_labels AS l USING (user_id, as_of_date)
            JOIN as_of_splits AS s ON s.as_of_date = f.as_of_date
            WHERE s.split <> 'embargo'"""
        )
        con.unregister("as_of_splits")
        n_rows = con.execute(f"SELECT count(*) FROM {TRAINING_SET}").fetchone()[0]
        rates = churn_rate_by_date(con.execute(f"SELECT as_of_date, split, churned FROM {TRAINING_SET}").df())
        metadata = table_metadata(con, TRAINING_SET, n_rows)
    per_split = rates.groupby("split")["active_users"].sum().to_dict()
    context.log.info(f"training set: {n_rows} rows, per split {per_split}")
    metadata["rows_per_split"] = dg.MetadataValue.json({k: int(v) for k, v in per_split.items()})
    metadata["churn_rate_by_as_of_date"] = dg.MetadataValue.md(rates.to_markdown(index=False))
    return dg.MaterializeResult(metadata=metadata)
