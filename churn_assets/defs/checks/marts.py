"""Grain checks on the marts and labels, as dbt's not_null and unique tests: each table has one row per key.

A duplicated (user_id, as_of_date) would count a user twice in training and in the risk list; a NULL key
would silently drop out of every join. The grains are declared once, in GRAINS.
"""

import dagster as dg

from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse

# table -> the columns that identify one row (every marts.* and labels.* table has an entry; a test checks it)
GRAINS: dict[str, tuple[str, ...]] = {
    "marts.user_features": ("user_id", "as_of_date"),
    "marts.training_set": ("user_id", "as_of_date"),
    "labels.churn_labels": ("user_id", "as_of_date"),
}
GRAIN_CHECK = "grain_not_null_and_unique"


def grain_violations(con, table: str, keys: tuple[str, ...]) -> dict[str, int]:
    """Rows, NULLs per key column and duplicate rows (rows beyond the first of each key) of `table`.
    Table and column names come from GRAINS, never from input."""
    nulls = ", ".join(f"SUM(CASE WHEN {c} IS NULL THEN 1 ELSE 0 END)" for c in keys)
    rows, *null_counts = con.execute(f"SELECT count(*), {nulls} FROM {table}").fetchall()[0]
    key = ", ".join(keys)
    duplicates = con.execute(
        f"SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT count(*) AS n FROM {table} GROUP BY {key} HAVING count(*) > 1) AS d"
    ).fetchall()[0][0]
    return {
        "rows": int(rows),
        **{f"{c} is null": int(n or 0) for c, n in zip(keys, null_counts, strict=False)},
        "duplicate keys": int(duplicates),
    }


def _grain_check(table: str, keys: tuple[str, ...]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(table.split(".")),
        name=GRAIN_CHECK,
        pool=DUCKDB_POOL,
        description=f"{table}: one row per ({', '.join(keys)}), none of them NULL.",
    )
    def grain_check(duckdb: DuckDBWarehouse) -> dg.AssetCheckResult:
        with duckdb.connect(read_only=True) as con:
            counts = grain_violations(con, table, keys)
        broken = sum(n for name, n in counts.items() if name != "rows")
        return dg.AssetCheckResult(passed=broken == 0, severity=dg.AssetCheckSeverity.ERROR, metadata=counts)

    return grain_check


def build_grain_checks() -> list[dg.AssetChecksDefinition]:
    return [_grain_check(table, keys) for table, keys in GRAINS.items()]
