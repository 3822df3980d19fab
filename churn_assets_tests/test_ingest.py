"""Ingestion: validation, quarantine with reasons, reconciliation, idempotence, atomicity."""

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from churn_assets.ingest import LandingFileError, ingest_partition, read_landing_file
from churn_assets.ingest.store import ensure_tables
from churn_assets.warehouse.contract import SOURCES

DAY = date(2026, 3, 10)
NOW = datetime(2026, 6, 1)

ORDERS_CSV = """user_id,order_id,ts,amount,status,quantity,category,discount,delivery_days
u1,o1,2026-03-10T10:00:00Z,25.5,paid,1,books,0,3
u1,o2,2026-03-10T11:00:00+02:00,10,PAID,2,books,1.5,4
u2,o3,2026-03-10T12:00:00Z,-5,paid,1,toys,0,2
u2,o4,not a time,5,paid,1,toys,0,2
u2,o5,2027-03-10T12:00:00Z,5,paid,1,toys,0,2
u9,o6,2026-03-10T12:00:00Z,5,paid,1,toys,0,2
u2,o7,2026-03-10T13:00:00Z,5,lost,1,toys,0,2
u2,o8,2026-03-10T14:00:00Z,5
u1,o1,2026-03-10T10:00:00Z,25.5,paid,1,books,0,3
u2,o9,1773144000,7.25,,,,,
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def con():
    c = duckdb.connect()
    for spec in SOURCES.values():
        ensure_tables(c, spec)
    c.execute(
        "INSERT INTO raw.users (user_id, signup_ts, _partition_date) VALUES ('u1', '2026-01-01', '2026-01-01'), "
        "('u2', '2026-01-02', '2026-01-02')"
    )
    yield c
    c.close()


def test_orders_partition_validates_quarantines_and_reconciles(tmp_path, con):
    write(tmp_path / "orders" / "2026-03-10.csv", ORDERS_CSV)
    counts = ingest_partition(con, tmp_path, SOURCES["orders"], DAY, now=NOW)
    assert (counts.read, counts.accepted, counts.rejected, counts.duplicates) == (10, 3, 6, 1)
    assert counts.reconciles
    accepted = con.execute("SELECT order_id, amount, status, quantity, ts FROM raw.orders ORDER BY order_id").df()
    assert accepted["order_id"].tolist() == ["o1", "o2", "o9"]
    # the +02:00 offset is converted to UTC, the epoch seconds parsed, defaults filled
    assert accepted.loc[1, "ts"] == pd.Timestamp("2026-03-10 09:00:00")
    assert accepted.loc[1, "status"] == "paid"
    assert accepted.loc[2, "ts"] == pd.Timestamp("2026-03-10 12:00:00")
    assert (accepted.loc[2, "status"], accepted.loc[2, "quantity"]) == ("paid", 1)
    q = con.execute("SELECT line, field, reason, source_file FROM quarantine.orders ORDER BY line").df()
    assert q["line"].tolist() == [4, 5, 6, 7, 8, 9]
    assert q["field"].tolist() == ["amount", "ts", "ts", "user_id", "status", None]
    assert q["reason"][0] == "amount below 0"
    assert q["reason"][1] == "unparseable timestamp in ts"
    assert "future" in q["reason"][2]
    assert q["reason"][3] == "unknown user"
    assert q["reason"][4].startswith("unknown status")
    assert q["reason"][5].startswith("malformed line: expected 9 fields, got 4")
    assert q["source_file"].str.endswith("2026-03-10.csv").all()


def test_reingest_replaces_the_partition(tmp_path, con):
    write(tmp_path / "orders" / "2026-03-10.csv", ORDERS_CSV)
    for _ in range(2):
        ingest_partition(con, tmp_path, SOURCES["orders"], DAY, now=NOW)
    assert con.execute("SELECT count(*) FROM raw.orders").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM quarantine.orders").fetchone()[0] == 6
    assert con.execute("SELECT count(*) FROM raw.ingest_log").fetchone()[0] == 1


def test_failed_write_keeps_the_previous_state(tmp_path, con, monkeypatch):
    write(tmp_path / "orders" / "2026-03-10.csv", ORDERS_CSV)
    ingest_partition(con, tmp_path, SOURCES["orders"], DAY, now=NOW)
    write(tmp_path / "orders" / "2026-03-10.csv", ORDERS_CSV.replace("o9", "o10"))

    real_execute = duckdb.DuckDBPyConnection.execute

    class Crashing:
        """Connection proxy that dies when the quarantine rows are inserted (after raw rows were deleted)."""

        def __init__(self, inner):
            self.inner = inner

        def execute(self, sql, *args):
            if sql.startswith("INSERT INTO quarantine"):
                raise RuntimeError("simulated crash")
            return real_execute(self.inner, sql, *args)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest_partition(Crashing(con), tmp_path, SOURCES["orders"], DAY, now=NOW)
    ids = [r[0] for r in con.execute("SELECT order_id FROM raw.orders ORDER BY 1").fetchall()]
    assert ids == ["o1", "o2", "o9"]


def test_jsonl_malformed_lines_are_quarantined_and_good_lines_load(tmp_path, con):
    lines = [
        json.dumps({"user_id": "u1", "ts": "2026-03-10T08:00:00Z", "event_type": "Login", "session_id": "s1"}),
        "{not json",
        json.dumps({"user_id": "u1", "ts": "2026-03-10T08:01:00Z", "event_type": "search", "query": "shoes"}),
        "",
        json.dumps([1, 2]),
    ]
    write(tmp_path / "events" / "2026-03-10.jsonl", "\n".join(lines) + "\n")
    counts = ingest_partition(con, tmp_path, SOURCES["events"], DAY, now=NOW)
    assert (counts.read, counts.accepted, counts.rejected, counts.duplicates) == (4, 2, 2, 0)
    assert con.execute("SELECT event_type FROM raw.events ORDER BY ts").df()["event_type"].tolist() == [
        "login",
        "search",
    ]
    q = con.execute("SELECT line, reason FROM quarantine.events ORDER BY line").fetchall()
    assert [r[0] for r in q] == [2, 5]
    assert all(r[1].startswith("malformed JSON") for r in q)


def test_parquet_reviews_with_string_timestamps(tmp_path, con):
    table = pa.table(
        {
            "user_id": ["u1", "u2", "u1"],
            "ts": ["2026-03-10T09:00:00Z", "yesterday", "2026-03-10T10:00:00Z"],
            "rating": [5, 1, 7],
            "text": ["great", "awful", "??"],
            "kind": ["review", "complaint", "review"],
        }
    )
    path = tmp_path / "reviews" / "2026-03-10.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)
    counts = ingest_partition(con, tmp_path, SOURCES["reviews"], DAY, now=NOW)
    assert (counts.accepted, counts.rejected) == (1, 2)
    reasons = [r[0] for r in con.execute("SELECT reason FROM quarantine.reviews ORDER BY line").fetchall()]
    assert reasons == ["unparseable timestamp in ts", "rating above 5"]


def test_unreadable_file_names_the_file(tmp_path, con):
    bad = write(tmp_path / "orders" / "2026-03-10.parquet", "this is not parquet")
    with pytest.raises(LandingFileError, match="2026-03-10.parquet"):
        ingest_partition(con, tmp_path, SOURCES["orders"], DAY, now=NOW)
    missing = write(tmp_path / "x" / "orders.csv", "user_id,ts,amount\nu1,2026-03-10,3\n")
    with pytest.raises(LandingFileError, match=r"orders.csv.*missing required column\(s\) \['order_id'\]"):
        read_landing_file(missing, SOURCES["orders"])
    assert bad.exists()


def test_files_of_other_days_are_not_read(tmp_path, con):
    write(tmp_path / "orders" / "2026-03-10.csv", ORDERS_CSV)
    write(tmp_path / "orders" / "2026-03-11.csv", "garbage without the columns\n")
    counts = ingest_partition(con, tmp_path, SOURCES["orders"], DAY, now=NOW)
    assert counts.files == 1 and counts.accepted == 3


def test_timestamp_formats(tmp_path, con):
    rows = [
        ("o1", "2026-03-10"),
        ("o2", "2026-03-10 03:04:05"),
        ("o3", "2026-03-10T03:04:05-01:00"),
        ("o4", "1773111845"),
        ("o5", "2026-13-45"),
        ("o6", "epoch"),
        ("o7", "infinity"),
        ("o8", "1970-01-01"),
    ]
    text = "user_id,order_id,ts,amount\n" + "".join(f"u1,{o},{ts},1\n" for o, ts in rows)
    write(tmp_path / "orders" / "2026-03-10.csv", text)
    ingest_partition(con, tmp_path, SOURCES["orders"], DAY, now=NOW)
    got = dict(con.execute("SELECT order_id, ts FROM raw.orders").fetchall())
    assert got == {
        "o1": datetime(2026, 3, 10),
        "o2": datetime(2026, 3, 10, 3, 4, 5),
        "o3": datetime(2026, 3, 10, 4, 4, 5),
        "o4": datetime(2026, 3, 10, 3, 4, 5),
    }
    reasons = dict(con.execute("SELECT line, reason FROM quarantine.orders").fetchall())
    assert reasons == {
        6: "unparseable timestamp in ts",
        7: "unparseable timestamp in ts",
        8: "unparseable timestamp in ts",
        9: "ts before 1990-01-01",
    }
