"""Shared by the hostile-input tests: landing files written by hand, one day ingested, the counts checked."""

from __future__ import annotations

import gzip
import sys
from datetime import date
from pathlib import Path

import duckdb

from churn_assets.ingest.store import PartitionCounts, ingest_partition
from churn_assets.warehouse.contract import SOURCES
from churn_assets_tests.source_helpers import (
    NOW,
    parquet_bytes,
    rows,
    warehouse,
)

DAY = date(2024, 3, 1)
HEADER = "user_id,order_id,ts,amount"
GOOD = "u1,o1,2024-03-01 10:00,10"
CHURN = Path(sys.executable).with_name("churn")
SECRET = "s3cret-of-another-shop"


def write_landing(tmp_path: Path, name: str, content: str | bytes, kind: str = "orders") -> Path:
    path = tmp_path / "landing" / kind / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def assert_reconciled(con: duckdb.DuckDBPyConnection, counts: list[PartitionCounts]) -> None:
    """Every partition reconciles, raw.* holds the accepted rows and quarantine.* the rejected ones."""
    assert counts and all(c.reconciles for c in counts)
    for kind in {c.kind for c in counts}:
        mine = [c for c in counts if c.kind == kind]
        log = rows(
            con,
            "SELECT sum(read), sum(accepted), sum(rejected), sum(duplicates) FROM raw.ingest_log WHERE kind = ?",
            [kind],
        )
        assert log == [tuple(sum(getattr(c, f) for c in mine) for f in ("read", "accepted", "rejected", "duplicates"))]
        assert rows(con, f"SELECT count(*) FROM raw.{kind}") == [(sum(c.accepted for c in mine),)]
        assert rows(con, f"SELECT count(*) FROM quarantine.{kind}") == [(sum(c.rejected for c in mine),)]


def ingest_day(
    tmp_path: Path, con: duckdb.DuckDBPyConnection | None = None
) -> tuple[duckdb.DuckDBPyConnection, PartitionCounts]:
    con = con or warehouse(tmp_path / "churn.duckdb")
    return con, ingest_partition(con, tmp_path / "landing", SOURCES["orders"], DAY, now=NOW)


def quarantined(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return rows(con, "SELECT line, field, reason FROM quarantine.orders ORDER BY line")


def rows_text(n: int) -> str:
    return f"{HEADER}\n" + "".join(f"u{i},o{i},2024-03-01 10:00,{i}\n" for i in range(n))


def gzipped(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


def corrupt_parquet(tmp_path: Path) -> bytes:
    """A Parquet file with its magic bytes and footer intact but the pages overwritten."""
    data = bytearray(parquet_bytes(tmp_path))
    data[8:-40] = b"\xff" * (len(data) - 48)
    return bytes(data)
