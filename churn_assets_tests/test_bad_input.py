"""Bad input: each case gives one clear error naming file, column and row, or a kept row with its
reason; good rows still load and the counts reconcile (read = written + merged + rejected + ...)."""

from __future__ import annotations

import json

import pytest

from churn_assets.sources import prepare_landing
from churn_assets_tests.source_helpers import (
    ingest_landing,
    parquet_bytes,
    prepare_error,
    read_parquet,
    rows,
    write_export,
)

GOOD = "user_id,order_id,ts,amount\nu1,o1,2024-03-01 10:00,10\nu2,o2,2024-03-02 11:00,20\n"


def test_missing_required_column_names_file_and_column(tmp_path):
    message = prepare_error(tmp_path, {"orders.csv": "user_id,order_id,ts,total\nu1,o1,2024-03-01,10\n"})
    assert "orders.csv" in message and "'amount'" in message and "missing required column" in message
    assert "total" in message  # the columns that were found


def test_adapter_missing_column_names_the_published_column(tmp_path):
    header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Country\n"
    message = prepare_error(
        tmp_path, {"online_retail_II.csv": header + "1,a,b,1,2010-01-01 10:00,1.0,UK\n"}, source="online_retail_ii"
    )
    assert "online_retail_II.csv" in message and "'Customer ID'" in message


def test_mapping_naming_a_column_that_is_not_in_the_file(tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "orders:\n  file: shop.csv\n  columns: {user_id: Client, order_id: Ref, ts: When, amount: Sum}\n"
    )
    message = prepare_error(tmp_path, {"shop.csv": "Customer,Ref,When,Sum\nc1,r1,2024-03-01,5\n"}, mapping=mapping)
    assert str(mapping) in message and "kind orders" in message and "'Client'" in message
    assert "shop.csv" in message and "Customer" in message  # the data file and its real columns


@pytest.mark.parametrize(
    "text, expected",
    [
        ("orders:\n  file: shop.csv\ncustomers:\n  file: c.csv\n", "unknown kind 'customers'"),
        ("orders:\n  file: shop.csv\n  columns: {buyer: Customer}\n", "column 'buyer'"),
        ("orders:\n  file: shop.csv\n  timezone: Mars/Olympus\n", "unknown time zone 'Mars/Olympus'"),
        ("orders:\n  file: shop.csv\n  timestamp_format: '%Q-%d'\n", "invalid timestamp_format"),
        ("orders:\n  file: nothing*.csv\n", "'nothing*.csv' matches nothing"),
        ("orders:\n  file: shop.csv\n  colums: {}\n", "unknown setting(s) ['colums']"),
        ("users:\n  file: shop.csv\n", "no orders section"),
        ("orders: [unclosed\n", "not valid YAML"),
    ],
)
def test_mapping_file_mistakes(tmp_path, text, expected):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(text)
    message = prepare_error(tmp_path, {"shop.csv": GOOD}, mapping=mapping)
    assert expected in message and str(mapping) in message


def test_unparseable_dates_are_kept_with_row_and_reason(tmp_path):
    src = write_export(tmp_path, {"orders.csv": GOOD + "u3,o3,31/02/2024,5\nu4,o4,,7\n"})
    report = prepare_landing(src, tmp_path / "landing")
    orders = report.kinds["orders"]
    assert (orders.rows_read, orders.rows_written, orders.rows_rejected) == (4, 2, 2) and orders.reconciles
    got = read_parquet(
        tmp_path / "landing" / "_rejected" / "orders.parquet",
        "SELECT source_file, row, field, reason, raw FROM t ORDER BY row",
    )
    assert [(r[1], r[2], r[3]) for r in got] == [
        (4, "ts", "unparseable timestamp in ts (expected ISO 8601 or epoch seconds)"),
        (5, "ts", "missing ts"),
    ]
    assert got[0][0].endswith("orders.csv") and "31/02/2024" in got[0][4]


def test_a_file_where_no_date_parses_is_an_error_with_an_example(tmp_path):
    message = prepare_error(
        tmp_path, {"orders.csv": "user_id,order_id,ts,amount\nu1,o1,13/31/2024 10:00,1\nu2,o2,14/31/2024 10:00,1\n"}
    )
    assert "orders.csv" in message and "row 2" in message and "'13/31/2024 10:00'" in message
    assert "timestamp_format" in message


def test_mixed_types_in_a_column_are_quarantined_per_row(tmp_path):
    """JSON lines with a number, a string and an object in `amount`: the good rows load, each bad one
    is quarantined by the ingestion with its field and reason, and every row is accounted for."""
    lines = [
        {"user_id": "u1", "order_id": "o1", "ts": "2024-03-01T10:00:00Z", "amount": 12.5},
        {"user_id": "u1", "order_id": "o2", "ts": "2024-03-01T11:00:00Z", "amount": "13.0"},
        {"user_id": "u2", "order_id": "o3", "ts": "2024-03-01T12:00:00Z", "amount": "twelve"},
        {"user_id": "u2", "order_id": "o4", "ts": "2024-03-01T13:00:00Z", "amount": {"value": 3}},
        {"user_id": 17, "order_id": 5, "ts": 1709301600, "amount": 4, "quantity": "2.5"},
        {"user_id": "u3", "order_id": "o1", "ts": "2024-03-01T15:00:00Z", "amount": 1},
    ]
    src = write_export(tmp_path, {"orders.jsonl": "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"})
    report = prepare_landing(src, tmp_path / "landing")
    orders = report.kinds["orders"]
    assert (orders.rows_read, orders.rows_written, orders.rejected) == (
        7,
        6,
        {"malformed JSON line: not a JSON object": 1},
    )
    con, counts = ingest_landing(tmp_path / "landing", tmp_path / "churn.duckdb")
    (c,) = [c for c in counts if c.kind == "orders" and c.read]
    assert (c.read, c.accepted, c.rejected, c.duplicates) == (6, 2, 3, 1) and c.reconciles
    assert orders.rows_read == c.accepted + c.rejected + c.duplicates + orders.rows_rejected
    got = rows(con, "SELECT line, field, reason FROM quarantine.orders ORDER BY line")
    assert got == [
        (3, "amount", "amount is not a number"),
        (4, "amount", "amount is not a number"),
        (5, "quantity", "quantity is not a whole number"),
    ]
    # each quarantined row points back at the line of the user's file, not only at the landing file
    origins = [json.loads(r)["origin"] for (r,) in rows(con, "SELECT raw FROM quarantine.orders ORDER BY line")]
    assert origins == [f"{src / 'orders.jsonl'}:{n}" for n in (3, 4, 5)]
    assert rows(con, "SELECT order_id, amount FROM raw.orders ORDER BY 1") == [("o1", 12.5), ("o2", 13.0)]


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("orders.csv", b"", "empty file (0 bytes)"),
        ("orders.csv", b"\n\n  \n", "empty file (no header line or record)"),
        ("orders.csv", "PARQUET", "is a Parquet file, not csv; name it .parquet"),
        ("orders.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary content (NUL bytes), not csv text"),
        ("orders.csv", b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive (or an Excel workbook)"),
        ("orders.parquet", GOOD, "not a Parquet file (no PAR1 magic bytes)"),
        ("orders.jsonl", '[{"user_id": "u1"}]', "a JSON array, not JSON lines"),
        ("orders.csv.gz", GOOD, "named .gz but is not gzip-compressed"),
        ("orders.csv", b"user_id,order_id,ts,amount\nu1,o1,2024-03-01,10\xff\xfe\n", "row 2: not UTF-8 text"),
        ("orders.csv", GOOD.encode() * 3000 + b"u9,o9,2024-03-01,1\xff\n", "row 9001: not UTF-8 text"),
    ],
)
def test_unusable_files_are_named(tmp_path, name, content, expected):
    if content == "PARQUET":
        content = parquet_bytes(tmp_path)
    message = prepare_error(tmp_path, {name: content})
    assert expected in message and name in message


def test_header_only_orders_is_an_error_but_an_empty_optional_kind_is_not(tmp_path):
    message = prepare_error(tmp_path, {"orders.csv": "user_id,order_id,ts,amount\n"})
    assert "no usable orders" in message and "0 orders rows read" in message
    report = prepare_landing(
        write_export(tmp_path, {"orders.csv": GOOD, "users.csv": "user_id,signup_ts\n"}), tmp_path / "landing2"
    )
    assert report.kinds["users"].rows_read == 0 and report.kinds["orders"].rows_written == 2


def test_no_orders_file_lists_what_was_found(tmp_path):
    message = prepare_error(tmp_path, {"sales.csv": GOOD})
    assert "no orders file" in message and "sales.csv" in message and "mapping file" in message


def test_malformed_csv_lines_are_kept_with_their_line(tmp_path):
    text = "user_id,order_id,ts,amount\nu1,o1,2024-03-01,10\nu2,o2\n\nu3,o3,2024-03-01,3,extra\nu4,o4,2024-03-02,4\n"
    report = prepare_landing(write_export(tmp_path, {"orders.csv": text}), tmp_path / "landing")
    orders = report.kinds["orders"]
    assert (orders.rows_read, orders.rows_written, orders.rows_rejected) == (4, 2, 2) and orders.reconciles
    got = read_parquet(
        tmp_path / "landing" / "_rejected" / "orders.parquet", "SELECT row, reason, raw FROM t ORDER BY row"
    )
    assert [(r[0], r[2]) for r in got] == [(3, "u2,o2"), (5, "u3,o3,2024-03-01,3,extra")]
    assert all(r[1].startswith("malformed CSV line") for r in got)
    # the good rows keep their line numbers in the file (blank line 4 counted)
    assert read_parquet(
        tmp_path / "landing" / "orders" / "*.parquet", "SELECT order_id, source_row FROM t ORDER BY 1"
    ) == [("o1", 2), ("o4", 6)]
