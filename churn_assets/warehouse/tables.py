"""Small DuckDB helpers shared by the assets: replace a table from a DataFrame, tables other steps need."""

from __future__ import annotations

import duckdb
import pandas as pd

REVIEW_NEGATIVITY = "ml.review_negativity"


def replace_table(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    """CREATE OR REPLACE `schema.table` with the frame's rows (atomic in DuckDB)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    con.register("_frame_to_write", df)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame_to_write")
    finally:
        con.unregister("_frame_to_write")


def ensure_review_negativity(con: duckdb.DuckDBPyConnection) -> None:
    """The text model's per-review scores; empty until it runs (or for shops without reviews)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {REVIEW_NEGATIVITY} "
        "(user_id VARCHAR, ts TIMESTAMP, review_date DATE, kind VARCHAR, p_negative DOUBLE)"
    )
