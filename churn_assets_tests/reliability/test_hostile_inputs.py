"""Hostile inputs, one row each: a clear error naming the file (and the line, field or mapping key where it
applies), or the row quarantined with its reason and the good rows loaded. After each, the counts reconcile:
raw.ingest_log has read = accepted + rejected + duplicates, and raw.* / quarantine.* hold exactly the
accepted / rejected rows. Plain bad-input cases (wrong columns, unparseable dates, ...) are in
test_bad_input.py; this table is the hostile end: limits, line endings, encodings, paths, YAML tricks."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from churn_assets import cli
from churn_assets.contract import MAX_LINE_SIZE, SOURCES
from churn_assets.ingest.read_files import LandingFileError
from churn_assets.ingest.store import PartitionCounts, ingest_partition
from churn_assets.sources import prepare_landing
from churn_assets_tests.source_helpers import (
    NOW, ingest_landing, parquet_bytes, prepare_error, read_parquet, rows, warehouse, write_export,
)

pytestmark = pytest.mark.reliability

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
        log = rows(con, "SELECT sum(read), sum(accepted), sum(rejected), sum(duplicates) FROM raw.ingest_log WHERE kind = ?", [kind])
        assert log == [tuple(sum(getattr(c, f) for c in mine) for f in ("read", "accepted", "rejected", "duplicates"))]
        assert rows(con, f"SELECT count(*) FROM raw.{kind}") == [(sum(c.accepted for c in mine),)]
        assert rows(con, f"SELECT count(*) FROM quarantine.{kind}") == [(sum(c.rejected for c in mine),)]


def ingest_day(tmp_path: Path, con: duckdb.DuckDBPyConnection | None = None) -> tuple[duckdb.DuckDBPyConnection, PartitionCounts]:
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


# -- landing files that cannot be used at all: one error naming the file (and the line), nothing written ----


LANDING_ERRORS = {
    "empty csv": ("2024-03-01.csv", lambda t: b"", ["empty file (0 bytes)"]),
    "empty jsonl": ("2024-03-01.jsonl", lambda t: b"", ["empty file (0 bytes)"]),
    "parquet named .csv": ("2024-03-01.csv", parquet_bytes, ["is a Parquet file, not .csv"]),
    "text named .parquet": ("2024-03-01.parquet", lambda t: f"{HEADER}\n{GOOD}\n".encode(), ["not a readable Parquet file"]),
    "corrupt parquet": ("2024-03-01.parquet", corrupt_parquet, ["not a readable Parquet file"]),
    "binary named .csv": ("2024-03-01.csv", lambda t: b"user_id\x00\x01\x02\xff", ["binary content (NUL bytes)"]),
    "latin-1 csv": ("2024-03-01.csv", lambda t: f"{HEADER},category\n{GOOD},x\nu2,o2,2024-03-01,3,Caf\xe9\n".encode("latin-1"),
                    ["line 3: not UTF-8 text"]),
    "latin-1 jsonl": ("2024-03-01.jsonl", lambda t: b'{"user_id": "u1"}\n{"user_id": "Caf\xe9"}\n', ["line 2: not UTF-8 text"]),
    "truncated gzip": ("2024-03-01.csv.gz", lambda t: gzipped(rows_text(2000))[:-40],
                       ["truncated or corrupt gzip file"]),
    "huge field": ("2024-03-01.csv", lambda t: f'{HEADER},category\n{GOOD},x\nu2,o2,2024-03-01,3,"{"x" * (MAX_LINE_SIZE + 1)}"\n'.encode(),
                   ["line 3:", f"longer than the limit of {MAX_LINE_SIZE:,}"]),
    "huge json line": ("2024-03-01.jsonl", lambda t: b'{"user_id": "u1"}\n{"text": "' + b"x" * MAX_LINE_SIZE + b'"}\n',
                       ["line 2:", f"longer than the limit of {MAX_LINE_SIZE:,}"]),
    "missing required column": ("2024-03-01.csv", lambda t: b"user_id,ts,amount\nu1,2024-03-01,3\n",
                                ["missing required column(s) ['order_id']", "found columns ['user_id', 'ts', 'amount']"]),
}


@pytest.mark.parametrize("case", LANDING_ERRORS)
def test_an_unusable_landing_file_is_one_error_naming_it(tmp_path, case):
    name, content, expected = LANDING_ERRORS[case]
    write_landing(tmp_path, name, content(tmp_path))
    con = warehouse(tmp_path / "churn.duckdb")
    with pytest.raises(LandingFileError) as err:
        ingest_day(tmp_path, con)
    message = str(err.value)
    assert "\n" not in message and name in message and all(e in message for e in expected), message
    assert rows(con, "SELECT (SELECT count(*) FROM raw.orders) + (SELECT count(*) FROM quarantine.orders) "
                     "+ (SELECT count(*) FROM raw.ingest_log)") == [(0,)]  # nothing half-written


# -- values out of the contract's range: the row is quarantined with field and reason -----------------------


OUT_OF_RANGE = [
    ("amount", "1e308", "amount above 1,000,000,000"),
    ("amount", "1000000000.5", "amount above 1,000,000,000"),
    ("amount", "inf", "amount is not a finite number"),
    ("amount", "-Infinity", "amount is not a finite number"),
    ("amount", "nan", "amount is not a finite number"),
    ("amount", "1e999", "amount is not a finite number"),
    ("amount", "-5", "amount below 0"),
    ("discount", "2e9", "discount above 1,000,000,000"),
    ("quantity", "5000000", "quantity above 1,000,000"),
    ("delivery_days", "40000", "delivery_days above 3,650"),
]


def _orders_file(fmt: str, column: str, value: str) -> bytes:
    good = {"user_id": "u1", "order_id": "o1", "ts": "2024-03-01 10:00:00", "amount": "10", column: "1"}
    bad = {**good, "order_id": "o2", column: value}
    if fmt == "csv":
        return "\n".join(",".join(r) for r in ([*good], good.values(), bad.values())).encode() + b"\n"
    if fmt == "jsonl":
        return "\n".join(json.dumps(r) for r in (good, bad)).encode() + b"\n"
    numbers = ("amount", column)  # Parquet with native doubles: NaN is a value there, not a null
    table = pa.table({k: pa.array([float(good[k]), float(bad[k])] if k in numbers else [good[k], bad[k]]) for k in good})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("column, value, reason", OUT_OF_RANGE)
def test_out_of_range_and_non_finite_numbers_are_quarantined(tmp_path, fmt, column, value, reason):
    write_landing(tmp_path, f"2024-03-01.{fmt}", _orders_file(fmt, column, value))
    con, counts = ingest_day(tmp_path)
    assert (counts.read, counts.accepted, counts.rejected) == (2, 1, 1)
    line = 3 if fmt == "csv" else 2
    assert quarantined(con) == [(line, column, reason)]
    assert rows(con, "SELECT order_id FROM raw.orders") == [("o1",)]
    assert_reconciled(con, [counts])


def test_the_bounds_come_from_the_contract(tmp_path, monkeypatch):
    """One place to change a bound: the contract column's max_value; the validation SQL follows it."""
    import dataclasses

    orders = SOURCES["orders"]
    lower = tuple(dataclasses.replace(c, max_value=100.0) if c.name == "amount" else c for c in orders.columns)
    monkeypatch.setitem(SOURCES, "orders", dataclasses.replace(orders, columns=lower))
    write_landing(tmp_path, "2024-03-01.csv", f"{HEADER}\n{GOOD}\nu2,o2,2024-03-01,101\n")
    con, counts = ingest_day(tmp_path)
    assert quarantined(con) == [(3, "amount", "amount above 100")]
    assert_reconciled(con, [counts])


def test_an_amount_of_1e308_in_an_export_is_quarantined_naming_the_users_row(tmp_path):
    src = write_export(tmp_path, {"shop.csv": f"{HEADER}\n{GOOD}\nu2,o2,2024-03-01 11:00,1e308\n",
                                  "map.yaml": "orders:\n  file: shop.csv\n  amount_scale: 0.01\n"})
    report = prepare_landing(src, tmp_path / "landing", mapping=src / "map.yaml")
    assert report.kinds["orders"].rows_written == 2
    con, counts = ingest_landing(tmp_path / "landing", tmp_path / "churn.duckdb")
    (field, reason, raw), = rows(con, "SELECT field, reason, raw FROM quarantine.orders")
    assert (field, reason) == ("amount", "amount above 1,000,000,000")
    assert json.loads(raw)["origin"] == f"{src / 'shop.csv'}:3"
    assert_reconciled(con, [c for c in counts if c.read])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_epoch_timestamps_out_of_range_are_set_aside_not_a_crash(tmp_path, fmt):
    """1e300 seconds since 1970 is no date: the row is set aside as unparseable, the others are prepared."""
    seconds = [1709287200, 1e300, 2.0 ** 62, float("inf")]
    if fmt == "csv":
        content = (f"{HEADER}\n" + "".join(f"u{i},o{i},{s!r},5\n" for i, s in enumerate(seconds))).encode()
    else:
        buffer = io.BytesIO()
        pq.write_table(pa.table({"user_id": [f"u{i}" for i in range(4)], "order_id": [f"o{i}" for i in range(4)],
                                 "ts": pa.array(seconds, pa.float64()), "amount": [5.0] * 4}), buffer)
        content = buffer.getvalue()
    src = write_export(tmp_path, {f"shop.{fmt}": content, "map.yaml": f"orders:\n  file: shop.{fmt}\n  timestamp_format: epoch_s\n"})
    orders = prepare_landing(src, tmp_path / "landing", mapping=src / "map.yaml").kinds["orders"]
    assert (orders.rows_read, orders.rows_written, orders.rows_rejected) == (4, 1, 3) and orders.reconciles
    assert set(orders.rejected) == {"unparseable timestamp in ts (expected format epoch_s)"}


# -- line endings, quoted newlines, byte order marks: accepted by both readers, with the right lines ---------


LINES = [  # an Excel export: a cell with a line break, a quoted quote, a bad amount, a bad date, a short line
    b"user_id,order_id,ts,amount,category", b'u1,o1,2024-03-01 10:00,10,"two\nlines"', b"u2,o2,2024-03-01 11:00,-1,x",
    b'u3,o3,2024-03-01 12:00,3,"a ""quoted"" cell"', b"u4,o4,not a date,4,y", b"u5,o5",
]  # physical lines: 1 header, 2-3 o1, 4 o2, 5 o3, 6 o4, 7 o5
EXCEL = b"\r\n".join(LINES) + b"\r\n"
TEXT_LAYOUTS = {
    "excel: CR-LF lines, LF inside a quoted cell": EXCEL,
    "CR-LF inside a quoted cell": EXCEL.replace(b"two\nlines", b"two\r\nlines"),
    "old Mac: lone CR": EXCEL.replace(b"\r\n", b"\r").replace(b"two\nlines", b"two\rlines"),
    "LF, CR inside a quoted cell": EXCEL.replace(b"\r\n", b"\n").replace(b"two\nlines", b"two\rlines"),
    "mixed: CR-LF, LF and CR line ends": b"\r\n".join(LINES[:2]) + b"\n" + LINES[2] + b"\r" + b"\r\n".join(LINES[3:]) + b"\r\n",
    "UTF-8 byte order mark": b"\xef\xbb\xbf" + EXCEL,
    "gzip": gzip.compress(EXCEL, mtime=0),
}


def test_quotes_inside_unquoted_cells_do_not_shift_line_numbers(tmp_path):
    """27" screen: a quote inside an unquoted cell is a character; the rows keep their lines in both readers."""
    text = (f"{HEADER},category\n{GOOD},\"two\nlines\"\nu2,o2,2024-03-01 10:00,-1,27\" screen\n"
            "u3,o3,2024-03-01 10:00,3,x\nu4,o4,2024-03-01 10:00,-4,5\" cable\nu5,o5\n")
    write_landing(tmp_path, "2024-03-01.csv", text)
    con, counts = ingest_day(tmp_path)
    assert [r[:2] for r in quarantined(con)] == [(4, "amount"), (6, "amount"), (7, None)]
    assert_reconciled(con, [counts])
    src = write_export(tmp_path, {"shop.csv": text, "map.yaml": "orders:\n  file: shop.csv\n"})
    prepare_landing(src, tmp_path / "prepared", mapping=src / "map.yaml")
    assert read_parquet(tmp_path / "prepared" / "orders" / "*.parquet", "SELECT order_id, source_row FROM t ORDER BY 1") == [
        ("o1", 2), ("o2", 4), ("o3", 5), ("o4", 6)]
    assert read_parquet(tmp_path / "prepared" / "_rejected" / "orders.parquet", "SELECT row FROM t") == [(7,)]


def _same_text(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("layout", TEXT_LAYOUTS)
def test_line_endings_and_quoted_newlines_in_a_landing_file(tmp_path, layout):
    write_landing(tmp_path, "2024-03-01.csv" + (".gz" if layout == "gzip" else ""), TEXT_LAYOUTS[layout])
    con, counts = ingest_day(tmp_path)
    assert (counts.read, counts.accepted, counts.rejected) == (5, 2, 3)
    assert [(o, _same_text(c)) for o, c in rows(con, "SELECT order_id, category FROM raw.orders ORDER BY 1")] == [
        ("o1", "two\nlines"), ("o3", 'a "quoted" cell')]
    got = quarantined(con)
    assert [r[:2] for r in got] == [(4, "amount"), (6, "ts"), (7, None)] and got[2][2].startswith("malformed line")
    assert_reconciled(con, [counts])


@pytest.mark.parametrize("layout", TEXT_LAYOUTS)
def test_line_endings_and_quoted_newlines_in_an_export_with_a_mapping(tmp_path, layout):
    """The export reader (churn run --mapping) takes the same files, with the same line numbers."""
    name = "export.csv" + (".gz" if layout == "gzip" else "")
    src = write_export(tmp_path, {name: TEXT_LAYOUTS[layout], "mapping.yaml": f"orders:\n  file: {name}\n"})
    report = prepare_landing(src, tmp_path / "landing", mapping=src / "mapping.yaml")
    orders = report.kinds["orders"]
    assert (orders.rows_read, orders.rows_written, orders.rows_rejected) == (5, 3, 2) and orders.reconciles
    set_aside = read_parquet(tmp_path / "landing" / "_rejected" / "orders.parquet", "SELECT row, field, reason FROM t ORDER BY row")
    assert [r[:2] for r in set_aside] == [(6, "ts"), (7, None)] and set_aside[1][2].startswith("malformed CSV line")
    assert read_parquet(tmp_path / "landing" / "orders" / "*.parquet", "SELECT order_id, source_row FROM t ORDER BY 1") == [
        ("o1", 2), ("o2", 4), ("o3", 5)]
    con, counts = ingest_landing(tmp_path / "landing", tmp_path / "churn.duckdb")
    (category,), = rows(con, "SELECT category FROM raw.orders WHERE order_id = 'o1'")
    origins = [json.loads(r)["origin"] for (r,) in rows(con, "SELECT raw FROM quarantine.orders")]
    assert _same_text(category) == "two\nlines" and origins == [f"{src / name}:4"]
    assert_reconciled(con, [c for c in counts if c.read])


EXPORT_ERRORS = {
    "truncated gzip": ("orders.csv.gz", lambda t: gzipped(rows_text(20000))[:-40],
                       ["truncated or corrupt gzip file"]),
    "truncated gzip, short": ("orders.csv.gz", lambda t: gzipped(f"{HEADER}\n{GOOD}\n")[:-12], ["truncated or corrupt gzip file"]),
    "corrupt parquet": ("orders.parquet", corrupt_parquet, ["not a readable Parquet file"]),
    "huge field": ("orders.csv", lambda t: f'{HEADER},category\n{GOOD},x\nu2,o2,2024-03-01,3,"{"x" * (MAX_LINE_SIZE + 1)}"\n'.encode(),
                   ["row 3:", f"longer than the limit of {MAX_LINE_SIZE:,}"]),
    "huge json line": ("orders.jsonl", lambda t: b'{"user_id": "u1"}\n{"text": "' + b"x" * MAX_LINE_SIZE + b'"}\n',
                       ["row 2:", f"longer than the limit of {MAX_LINE_SIZE:,}"]),
    "quoted cell never closed": ("orders.csv", lambda t: f'{HEADER}\n{GOOD}\nu2,o2,2024-03-01,"3\nu3,o3,2024-03-01,4\n'.encode(),
                                 ["row 3:", "a quoted cell opens on this line and is never closed"]),
    "latin-1 json lines": ("orders.jsonl", lambda t: b'{"user_id": "u1"}\n' * 5000 + b'{"user_id": "Caf\xe9"}\n',
                           ["row 5001:", "not UTF-8 text"]),
}


@pytest.mark.parametrize("case", EXPORT_ERRORS)
def test_an_unusable_export_file_is_one_error_naming_it(tmp_path, case):
    name, content, expected = EXPORT_ERRORS[case]
    message = prepare_error(tmp_path, {name: content(tmp_path)})
    assert name in message and all(e in message for e in expected), message
    assert not list((tmp_path / "landing").glob("orders/*"))


# -- mapping files: paths outside the data directory, wrong types, YAML tricks ------------------------------


@pytest.fixture
def shop(tmp_path) -> Path:
    """A data directory with a good export, next to another shop's export and a secret file."""
    base = write_export(tmp_path, {"orders.csv": f"{HEADER}\n{GOOD}\n"})
    other = tmp_path / "other_shop"
    other.mkdir()
    (other / "orders.csv").write_text(f"{HEADER}\n{SECRET},o9,2024-03-01 10:00,1\n")
    (tmp_path / "secret.csv").write_text(f"{SECRET}:x:0:0:root\n")
    (base / "linked.csv").symlink_to(other / "orders.csv")
    (base / "data").mkdir()
    (base / "data" / "escape").symlink_to(other, target_is_directory=True)
    return base


PATHS_OUTSIDE = {
    "relative": "../other_shop/orders.csv",
    "far up, as /etc/passwd": "../../../../../../../../../etc/passwd",
    "absolute": "{tmp}/other_shop/orders.csv",
    "absolute glob": "{tmp}/*/orders.csv",
    "relative glob": "../*/orders.csv",
    "recursive glob": "../**/orders.csv",
    "symlink to a file outside": "linked.csv",
    "symlinked folder": "data/escape/orders.csv",
    "glob through a symlinked folder": "data/*/*.csv",
    "a list with one outside": ["orders.csv", "../secret.csv"],
}


@pytest.mark.parametrize("case", PATHS_OUTSIDE)
def test_a_mapping_file_cannot_read_outside_the_data_directory(shop, tmp_path, case):
    pattern = PATHS_OUTSIDE[case]
    patterns = [p.format(tmp=tmp_path) for p in ([pattern] if isinstance(pattern, str) else pattern)]
    mapping = shop / "mapping.yaml"
    mapping.write_text(yaml_dump({"orders": {"files": patterns, "format": "csv"}}))
    with pytest.raises(Exception) as err:
        prepare_landing(shop, shop / "landing", mapping=mapping)
    message = str(err.value)
    assert type(err.value).__name__ == "SourceError" and "\n" not in message, message
    assert f"mapping file {mapping}" in message and "kind orders" in message and "outside the data directory" in message
    assert patterns[-1] in message and str(shop) in message
    assert SECRET not in message and ":x:0:0:" not in message  # nothing of the refused file is echoed
    assert not (shop / "landing" / "orders").exists()


def yaml_dump(data) -> str:
    import yaml

    return yaml.safe_dump(data)


BOMB = "orders:\n  file: orders.csv\n  currency:\n    - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"    - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)
)  # "billion laughs": 9 ** 10 values once expanded
MAPPING_MISTAKES = {
    "timestamp_format: 123": ("orders:\n  file: orders.csv\n  timestamp_format: 123\n",
                              "'timestamp_format' must be a text or a list of texts, got 123"),
    "timestamp_format list of numbers": ("orders:\n  file: orders.csv\n  timestamp_format: [1, 2]\n",
                                         "'timestamp_format' must be a text or a list of texts"),
    "timezone: 5": ("orders:\n  file: orders.csv\n  timezone: 5\n", "'timezone' must be a text, got 5"),
    "delimiter of two characters": ("orders:\n  file: orders.csv\n  delimiter: ';;'\n", "'delimiter' must be one character"),
    "file: 5": ("orders:\n  file: 5\n", "'file' must be a text or a list of texts, got 5"),
    "file: [.]": ("orders:\n  files: ['.']\n", "file '.' is not a file name or glob"),
    "decimal_comma: maybe": ("orders:\n  file: orders.csv\n  decimal_comma: maybe\n", "'decimal_comma' must be true or false"),
    "amount_scale: .inf": ("orders:\n  file: orders.csv\n  amount_scale: .inf\n", "'amount_scale' must be a finite number"),
    "default of a list": ("orders:\n  file: orders.csv\n  defaults: {category: [a, b]}\n", "'defaults' must give texts or numbers"),
    "recoding to a table": ("orders:\n  file: orders.csv\n  values: {status: {done: {x: 1}}}\n", "'values' must give texts or numbers"),
    "alias bomb (billion laughs)": (BOMB, "YAML aliases"),
    "self-referencing alias": ("orders: &a\n  file: orders.csv\n  values: {status: *a}\n", "YAML aliases"),
    "mapping file of 2 MB": ("orders:\n  file: orders.csv\n" + "# padding\n" * 200_000, "larger than 1 MiB"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", MAPPING_MISTAKES)
def test_a_hostile_mapping_file_is_one_clear_error(shop, case):
    text, expected = MAPPING_MISTAKES[case]
    mapping = shop / "mapping.yaml"
    mapping.write_text(text)
    with pytest.raises(Exception) as err:
        prepare_landing(shop, shop / "landing", mapping=mapping)
    message = str(err.value)
    assert type(err.value).__name__ == "SourceError" and "\n" not in message and len(message) < 500, message
    assert str(mapping) in message and expected in message, message


# -- duplicates across days: counted, and the counts still reconcile -----------------------------------------


def test_order_ids_repeated_on_a_later_day_are_counted(tmp_path):
    write_landing(tmp_path, "2024-03-01.csv", f"{HEADER}\nu1,o1,2024-03-01 10:00,1\nu1,o2,2024-03-01 11:00,2\n")
    write_landing(tmp_path, "2024-03-02.csv", f"{HEADER}\nu1,o2,2024-03-01 11:00,2\nu1,o3,2024-03-02 10:00,3\n"
                                              "u1,o3,2024-03-02 10:00,3\n")
    write_landing(tmp_path, "2024-03-03.csv", f"{HEADER}\nu1,o1,2024-03-01 10:00,1\nu1,o2,2024-03-01 11:00,2\n")
    con, counts = ingest_landing(tmp_path / "landing", tmp_path / "churn.duckdb")
    orders = [c for c in counts if c.kind == "orders"]
    assert [(c.read, c.accepted, c.duplicates, c.cross_day_duplicates) for c in orders] == [
        (2, 2, 0, 0), (3, 2, 1, 1), (2, 2, 0, 2)]
    assert rows(con, "SELECT partition_date, cross_day_duplicates FROM raw.ingest_log WHERE kind = 'orders' ORDER BY 1") == [
        (date(2024, 3, 1), 0), (date(2024, 3, 2), 1), (date(2024, 3, 3), 2)]
    assert_reconciled(con, orders)
    # re-ingesting a day gives the same count
    ingest_partition(con, tmp_path / "landing", SOURCES["orders"], date(2024, 3, 3), now=NOW)
    from churn_assets.ingest.store import record_cross_day_duplicates

    again = record_cross_day_duplicates(con, SOURCES["orders"], [c for c in orders if c.partition_date == date(2024, 3, 3)])
    assert [c.cross_day_duplicates for c in again] == [2]


# -- the churn command: the same errors end to end, exit code 2 -------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch):
    """The command points CHURN_DATA_DIR / DAGSTER_HOME / CHURN_START_DATE at its data directory: restored after."""
    for name in ("CHURN_DATA_DIR", "DAGSTER_HOME", "CHURN_START_DATE"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.mark.parametrize("mapping_text, expected", [
    ("orders:\n  file: ../other_shop/orders.csv\n", "file '../other_shop/orders.csv' is outside the data directory"),
    ("orders:\n  file: {tmp}/other_shop/orders.csv\n", "is outside the data directory"),
    ("orders:\n  file: orders.csv\n  timestamp_format: 123\n", "'timestamp_format' must be a text or a list of texts"),
    (BOMB, "YAML aliases"),
])
def test_churn_run_refuses_a_hostile_mapping_with_exit_code_2(shop, tmp_path, clean_env, capsys, mapping_text, expected):
    mapping = shop / "mapping.yaml"
    mapping.write_text(mapping_text.format(tmp=tmp_path))
    rc = cli.main(["run", "--data-dir", str(shop), "--mapping", str(mapping), "--as-of", "2024-03-01"])
    err = capsys.readouterr().err
    assert rc == 2 and "error: the input cannot be used" in err and expected in err and str(mapping) in err, err
    assert SECRET not in err and "not available yet" not in err and len(err.splitlines()) == 2


def test_a_failed_step_reports_the_error_that_names_the_file_not_its_cause(tmp_path):
    """The CLI shows the user code's exception (a LandingFileError names the file), not the one it wraps."""
    import dagster as dg

    bad = write_landing(tmp_path, "2024-03-01.parquet", b"PAR1 not really")

    @dg.op
    def read_it():
        from churn_assets.ingest.read_files import read_landing_file

        read_landing_file(bad, SOURCES["orders"])

    with pytest.raises(Exception) as err:
        dg.GraphDefinition("read", node_defs=[read_it]).to_job().execute_in_process(raise_on_error=True)
    assert err.value.__cause__ is not None  # pyarrow's error, without the file name
    _, cause = cli._unwrap(err.value)
    assert isinstance(cause, LandingFileError) and str(bad) in str(cause)


def _orders_days(landing: Path, first: date, n_days: int, amount: str) -> None:
    for i in range(n_days):
        day = first + timedelta(days=i)
        lines = [f"u{u},o{i}-{u},{day}T10:00:00,{amount}" for u in range(3) if (i + u) % 2 == 0]
        write_landing(landing.parent, f"{day}.csv", "\n".join([HEADER, *lines]) + "\n")


def _churn(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([str(CHURN), *map(str, argv)], capture_output=True, text=True, timeout=600)


def test_churn_run_stops_after_ingestion_when_every_order_is_quarantined(tmp_path):
    _orders_days(tmp_path / "landing", date(2024, 1, 1), 40, amount="-3")
    done = _churn("run", "--data-dir", tmp_path, "--as-of", "2024-02-09", "--horizon-days", "1", "--as-of-step-days", "1")
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    err = done.stderr
    assert "no orders were accepted" in err and "60 orders rows read up to 2024-02-09, all quarantined" in err, err
    assert "amount below 0 (60)" in err and "quarantine.orders" in err and "labelled" not in err
    assert "step: staging" not in done.stdout  # stopped right after ingestion
    with duckdb.connect(str(tmp_path / "churn.duckdb"), read_only=True) as con:
        assert rows(con, "SELECT sum(read), sum(rejected) FROM raw.ingest_log") == [(60, 60)]


def test_a_landing_file_error_names_the_file_through_the_command(tmp_path):
    _orders_days(tmp_path / "landing", date(2024, 1, 1), 40, amount="5")
    bad = write_landing(tmp_path, "2024-01-20.csv", f"{HEADER}\n{GOOD}\nu2,o2,2024-01-20,Caf\xe9\n".encode("latin-1"))
    done = _churn("run", "--data-dir", tmp_path, "--as-of", "2024-02-09", "--horizon-days", "1", "--as-of-step-days", "1")
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"cause: LandingFileError: {bad}: line 3: not UTF-8 text" in done.stderr, done.stderr
