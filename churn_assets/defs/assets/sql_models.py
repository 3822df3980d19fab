"""One Dagster asset per SQL file in dbt_like_sql/ (staging, intermediate, features, labels, marts)."""

import dagster as dg

from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse, PipelineSettings
from churn_assets.warehouse.sql_project import SqlModel, load_models, run_model

# intermediate (the date window, as-of grid, users in scope) goes with staging: the daily scoring run rebuilds
# staging only, and its realized-churn report reads intermediate.data_window.
GROUPS = {
    "staging": "staging",
    "intermediate": "staging",
    "features": "features",
    "labels": "labels",
    "marts": "features",
}
# Tables left empty by design on some shops (see the SQL): why, logged and kept in the metadata.
EMPTY_NOTES = {
    "features.user_event_tokens": "the shop has no events (orders only): behaviour tokens not built, "
    "as the BERT models that read them are skipped too",
}


def table_metadata(con, table: str, n_rows: int) -> dict:
    cols = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        table.split("."),
    ).fetchall()
    preview = con.execute(f"SELECT * FROM {table} LIMIT 5").df()
    return {
        "dagster/row_count": dg.MetadataValue.int(n_rows),
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, str(kind)) for name, kind in cols]),
        "dagster/table_name": table,
        "preview": dg.MetadataValue.md(preview.to_markdown(index=False)),
    }


def _build_sql_asset(model: SqlModel) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey([model.schema, model.name]),
        deps=[dg.AssetKey(dep.split(".")) for dep in model.deps],
        group_name=GROUPS.get(model.schema, model.schema),
        pool=DUCKDB_POOL,  # DuckDB takes one process at a time
        description=f"{model.description}\n\nSQL: dbt_like_sql/{model.schema}/{model.path.name}",
        kinds={"duckdb", "sql"},
    )
    def _sql(
        context: dg.AssetExecutionContext, duckdb: DuckDBWarehouse, settings: PipelineSettings
    ) -> dg.MaterializeResult:
        params = settings.sql_params()
        with duckdb.connect() as con:
            n_rows = run_model(con, model, params)
            metadata = table_metadata(con, model.key, n_rows)
        if n_rows == 0 and model.key in EMPTY_NOTES:
            context.log.info(f"{model.key} is empty: {EMPTY_NOTES[model.key]}")
            metadata["note"] = EMPTY_NOTES[model.key]
        metadata["parameters"] = dg.MetadataValue.json({p: params[p] for p in model.params})
        metadata["sql"] = dg.MetadataValue.md(f"```sql\n{model.sql}\n```")
        return dg.MaterializeResult(metadata=metadata)

    return _sql


sql_assets = [_build_sql_asset(m) for m in load_models().values()]
