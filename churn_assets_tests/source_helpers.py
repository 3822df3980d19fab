"""Helpers for the source-adapter tests: ingest prepared landing files into a DuckDB file in tmp_path."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from churn_assets.contract import INGEST_ORDER, SOURCES
from churn_assets.ingest.store import PartitionCounts, ensure_tables, ingest_partition
from churn_assets.pipeline import landing_days

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2030, 1, 1)


def ingest_landing(landing: Path, db: Path) -> tuple[duckdb.DuckDBPyConnection, list[PartitionCounts]]:
    """Run the ingestion step on every landing day of every kind, users first (as the assets do)."""
    con = duckdb.connect(str(db))
    for spec in SOURCES.values():
        ensure_tables(con, spec)
    counts = []
    for kind in INGEST_ORDER:
        for day in landing_days(landing):
            counts.append(ingest_partition(con, landing, SOURCES[kind], day, now=NOW))
    return con, counts


def rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def read_parquet(pattern: Path, sql: str = "SELECT * FROM t") -> list[tuple]:
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{pattern}')")
        return con.execute(sql).fetchall()


def day(s: str) -> date:
    return date.fromisoformat(s)
