"""Helpers for the source-adapter tests: ingest prepared landing files into a DuckDB file in tmp_path."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from churn_assets.ingest.landing_files import landing_days
from churn_assets.ingest.store import PartitionCounts, ensure_tables, ingest_partition, record_cross_day_duplicates
from churn_assets.sources import SourceError, prepare_landing
from churn_assets.warehouse.contract import INGEST_ORDER, SOURCES

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2030, 1, 1)


def warehouse(db: Path | str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the raw.*, quarantine.* tables and raw.ingest_log."""
    con = duckdb.connect(str(db))
    for spec in SOURCES.values():
        ensure_tables(con, spec)
    return con


def ingest_landing(landing: Path, db: Path) -> tuple[duckdb.DuckDBPyConnection, list[PartitionCounts]]:
    """Run the ingestion step on every landing day of every kind, users first (as the assets do)."""
    con = warehouse(db)
    counts = []
    for kind in INGEST_ORDER:
        ingested = [ingest_partition(con, landing, SOURCES[kind], day, now=NOW) for day in landing_days(landing)]
        counts += record_cross_day_duplicates(con, SOURCES[kind], ingested)
    return con, counts


def rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def read_parquet(pattern: Path, sql: str = "SELECT * FROM t") -> list[tuple]:
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{pattern}')")
        return con.execute(sql).fetchall()


def day(s: str) -> date:
    return date.fromisoformat(s)


def write_export(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """tmp_path/export holding `files` (name: text or bytes), the input directory of prepare_landing."""
    src = tmp_path / "export"
    src.mkdir(exist_ok=True)
    for name, content in files.items():
        (src / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return src


def prepare_error(tmp_path: Path, files: dict[str, str | bytes], **kwargs) -> str:
    """The one-line SourceError that prepare_landing raises on these export files."""
    with pytest.raises(SourceError) as err:
        prepare_landing(write_export(tmp_path, files), tmp_path / "landing", **kwargs)
    message = str(err.value)
    assert "\n" not in message  # one line
    return message


def parquet_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "some.parquet"
    duckdb.sql(f"COPY (SELECT 'u1' AS user_id, 'o1' AS order_id) TO '{path}' (FORMAT parquet)")
    return path.read_bytes()
