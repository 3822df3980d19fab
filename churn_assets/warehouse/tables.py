"""Small DuckDB helpers shared by the assets: replace a table from a DataFrame, tables other steps need."""

from __future__ import annotations

import duckdb
import pandas as pd

from churn_assets.ml.complaint_topics import NEGATIVE_THRESHOLD, complaint_topics

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
    """The text model's per-review scores and complaint topics (``ml/complaint_topics.py``: the topic of a
    complaint or a text with P(bad) >= 0.5, NULL for the others); empty until it runs (or for shops without
    reviews). A table written before topics existed gets the column (NULL until the texts are scored again)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {REVIEW_NEGATIVITY} "
        "(user_id VARCHAR, ts TIMESTAMP, review_date DATE, kind VARCHAR, p_negative DOUBLE, topic VARCHAR)"
    )
    con.execute(f"ALTER TABLE {REVIEW_NEGATIVITY} ADD COLUMN IF NOT EXISTS topic VARCHAR")


def fill_missing_topics(con: duckdb.DuckDBPyConnection) -> int:
    """Give a topic to the complaints of ml.review_negativity that have none because they were scored before
    the column existed (their text from staging.reviews); returns how many rows got one."""
    missing = con.execute(
        f"SELECT n.user_id, n.ts, n.kind, r.text FROM {REVIEW_NEGATIVITY} AS n "
        "JOIN staging.reviews AS r ON r.user_id = n.user_id AND r.ts = n.ts AND r.kind IS NOT DISTINCT FROM n.kind "
        "WHERE n.topic IS NULL AND (n.kind = 'complaint' OR n.p_negative >= ?) ORDER BY n.user_id, n.ts",
        [NEGATIVE_THRESHOLD],
    ).df()
    if missing.empty:
        return 0
    filled = missing[["user_id", "ts", "kind"]].assign(topic=complaint_topics(missing["text"]))
    con.register("_filled_topics", filled)
    try:
        con.execute(
            f"UPDATE {REVIEW_NEGATIVITY} AS n SET topic = f.topic FROM _filled_topics AS f "
            "WHERE n.user_id = f.user_id AND n.ts = f.ts AND n.kind IS NOT DISTINCT FROM f.kind AND n.topic IS NULL"
        )
    finally:
        con.unregister("_filled_topics")
    return len(filled)
