"""Hostile inputs, one row each: a clear error naming the file (and the line, field or mapping key where it
applies), or the row quarantined with its reason and the good rows loaded. After each, the counts reconcile:
raw.ingest_log has read = accepted + rejected + duplicates, and raw.* / quarantine.* hold exactly the
accepted / rejected rows. Plain bad-input cases (wrong columns, unparseable dates, ...) are in
test_bad_input.py; this table is the hostile end: limits, line endings, encodings. Landing files and exports
here; mapping files (paths, YAML tricks) and the `churn` command end to end in test_hostile_mappings.py."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from churn_assets.ingest.read_files import LandingFileError
from churn_assets.sources import prepare_landing
from churn_assets.warehouse.contract import MAX_LINE_SIZE, SOURCES
from churn_assets_tests.reliability.hostile import (
    GOOD,
    HEADER,
    assert_reconciled,
    corrupt_parquet,
    gzipped,
    ingest_day,
    quarantined,
    rows_text,
    write_landing,
)
from churn_assets_tests.source_helpers import (
    ingest_landing,
    parquet_bytes,
    prepare_error,
    read_parquet,
    rows,
    warehouse,
    write_export,
)

pytestmark = pytest.mark.reliability

# -- landing files that cannot be used at all: one error naming the file (and the line), nothing written ----


LANDING_ERRORS = {
    "empty csv": ("2024-03-01.csv", lambda t: b"", ["empty file (0 bytes)"]),
    "empty jsonl": ("2024-03-01.jsonl", lambda t: b"", ["empty file (0 bytes)"]),
    "parquet named .csv": ("2024-03-01.csv", parquet_bytes, ["is a Parquet file, not .csv"]),
    "text named .parquet": (
        "2024-03-01.parquet",
        lambda t: f"{HEADER}\n{GOOD}\n".encode(),
        ["not a readable Parquet file"],
    ),
    "corrupt parquet": ("2024-03-01.parquet", corrupt_parquet, ["not a readable Parquet file"]),
    "binary named .csv": ("2024-03-01.csv", lambda t: b"user_id\x00\x01\x02\xff", ["binary content (NUL bytes)"]),
    "latin-1 csv": (
        "2024-03-01.csv",
        lambda t: f"{HEADER},category\n{GOOD},x\nu2,o2,2024-03-01,3,Caf\xe9\n".encode("latin-1"),
        ["line 3: not UTF-8 text"],
    ),
    "latin-1 jsonl": (
        "2024-03-01.jsonl",
        lambda t: b'{"user_id": "u1"}\n{"user_id": "Caf\xe9"}\n',
        ["line 2: not UTF-8 text"],
    ),
    "truncated gzip": (
        "2024-03-01.csv.gz",
        lambda t: gzipped(rows_text(2000))[:-40],
        ["truncated or corrupt gzip file"],
    ),
    "huge field": (
        "2024-03-01.csv",
        lambda t: f'{HEADER},category\n{GOOD},x\nu2,o2,2024-03-01,3,"{"x" * (MAX_LINE_SIZE + 1)}"\n'.encode(),
        ["line 3:", f"longer than the limit of {MAX_LINE_SIZE:,}"],
    ),
    "huge json line": (
        "2024-03-01.jsonl",
        lambda t: b'{"user_id": "u1"}\n{"text": "' + b"x" * MAX_LINE_SIZE + b'"}\n',
        ["line 2:", f"longer than the limit of {MAX_LINE_SIZE:,}"],
    ),
    "missing required column": (
        "2024-03-01.csv",
        lambda t: b"user_id,ts,amount\nu1,2024-03-01,3\n",
        ["missing required column(s) ['order_id']", "found columns ['user_id', 'ts', 'amount']"],
    ),
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
    assert rows(
        con,
        "SELECT (SELECT count(*) FROM raw.orders) + (SELECT count(*) FROM quarantine.orders) "
        "+ (SELECT count(*) FROM raw.ingest_log)",
    ) == [(0,)]  # nothing half-written


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
    table = pa.table(
        {k: pa.array([float(good[k]), float(bad[k])] if k in numbers else [good[k], bad[k]]) for k in good}
    )
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
    src = write_export(
        tmp_path,
        {
            "shop.csv": f"{HEADER}\n{GOOD}\nu2,o2,2024-03-01 11:00,1e308\n",
            "map.yaml": "orders:\n  file: shop.csv\n  amount_scale: 0.01\n",
        },
    )
    report = prepare_landing(src, tmp_path / "landing", mapping=src / "map.yaml")
    assert report.kinds["orders"].rows_written == 2
    con, counts = ingest_landing(tmp_path / "landing", tmp_path / "churn.duckdb")
    ((field, reason, raw),) = rows(con, "SELECT field, reason, raw FROM quarantine.orders")
    assert (field, reason) == ("amount", "amount above 1,000,000,000")
    assert json.loads(raw)["origin"] == f"{src / 'shop.csv'}:3"
    assert_reconciled(con, [c for c in counts if c.read])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_epoch_timestamps_out_of_range_are_set_aside_not_a_crash(tmp_path, fmt):
    """1e300 seconds since 1970 is no date: the row is set aside as unparseable, the others are prepared."""
    seconds = [1709287200, 1e300, 2.0**62, float("inf")]
    if fmt == "csv":
        content = (f"{HEADER}\n" + "".join(f"u{i},o{i},{s!r},5\n" for i, s in enumerate(seconds))).encode()
    else:
        buffer = io.BytesIO()
        pq.write_table(
            pa.table(
                {
                    "user_id": [f"u{i}" for i in range(4)],
                    "order_id": [f"o{i}" for i in range(4)],
                    "ts": pa.array(seconds, pa.float64()),
                    "amount": [5.0] * 4,
                }
            ),
            buffer,
        )
        content = buffer.getvalue()
    src = write_export(
        tmp_path, {f"shop.{fmt}": content, "map.yaml": f"orders:\n  file: shop.{fmt}\n  timestamp_format: epoch_s\n"}
    )
    orders = prepare_landing(src, tmp_path / "landing", mapping=src / "map.yaml").kinds["orders"]
    assert (orders.rows_read, orders.rows_written, orders.rows_rejected) == (4, 1, 3) and orders.reconciles
    assert set(orders.rejected) == {"unparseable timestamp in ts (expected format epoch_s)"}


# -- line endings, quoted newlines, byte order marks: accepted by both readers, with the right lines ---------


LINES = [  # an Excel export: a cell with a line break, a quoted quote, a bad amount, a bad date, a short line
    b"user_id,order_id,ts,amount,category",
    b'u1,o1,2024-03-01 10:00,10,"two\nlines"',
    b"u2,o2,2024-03-01 11:00,-1,x",
    b'u3,o3,2024-03-01 12:00,3,"a ""quoted"" cell"',
    b"u4,o4,not a date,4,y",
    b"u5,o5",
]  # physical lines: 1 header, 2-3 o1, 4 o2, 5 o3, 6 o4, 7 o5
EXCEL = b"\r\n".join(LINES) + b"\r\n"
TEXT_LAYOUTS = {
    "excel: CR-LF lines, LF inside a quoted cell": EXCEL,
    "CR-LF inside a quoted cell": EXCEL.replace(b"two\nlines", b"two\r\nlines"),
    "old Mac: lone CR": EXCEL.replace(b"\r\n", b"\r").replace(b"two\nlines", b"two\rlines"),
    "LF, CR inside a quoted cell": EXCEL.replace(b"\r\n", b"\n").replace(b"two\nlines", b"two\rlines"),
    "mixed: CR-LF, LF and CR line ends": b"\r\n".join(LINES[:2])
    + b"\n"
    + LINES[2]
    + b"\r"
    + b"\r\n".join(LINES[3:])
    + b"\r\n",
    "UTF-8 byte order mark": b"\xef\xbb\xbf" + EXCEL,
    "gzip": gzip.compress(EXCEL, mtime=0),
}


def test_quotes_inside_unquoted_cells_do_not_shift_line_numbers(tmp_path):
    """27" screen: a quote inside an unquoted cell is a character; the rows keep their lines in both readers."""
    text = (
        f'{HEADER},category\n{GOOD},"two\nlines"\nu2,o2,2024-03-01 10:00,-1,27" screen\n'
        'u3,o3,2024-03-01 10:00,3,x\nu4,o4,2024-03-01 10:00,-4,5" cable\nu5,o5\n'
    )
    write_landing(tmp_path, "2024-03-01.csv", text)
    con, counts = ingest_day(tmp_path)
    assert [r[:2] for r in quarantined(con)] == [(4, "amount"), (6, "amount"), (7, None)]
    assert_reconciled(con, [counts])
    src = write_export(tmp_path, {"shop.csv": text, "map.yaml": "orders:\n  file: shop.csv\n"})
    prepare_landing(src, tmp_path / "prepared", mapping=src / "map.yaml")
    assert read_parquet(
        tmp_path / "prepared" / "orders" / "*.parquet", "SELECT order_id, source_row FROM t ORDER BY 1"
    ) == [("o1", 2), ("o2", 4), ("o3", 5), ("o4", 6)]
    assert read_parquet(tmp_path / "prepared" / "_rejected" / "orders.parquet", "SELECT row FROM t") == [(7,)]


def _same_text(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("layout", TEXT_LAYOUTS)
def test_line_endings_and_quoted_newlines_in_a_landing_file(tmp_path, layout):
    write_landing(tmp_path, "2024-03-01.csv" + (".gz" if layout == "gzip" else ""), TEXT_LAYOUTS[layout])
    con, counts = ingest_day(tmp_path)
    assert (counts.read, counts.accepted, counts.rejected) == (5, 2, 3)
    assert [(o, _same_text(c)) for o, c in rows(con, "SELECT order_id, category FROM raw.orders ORDER BY 1")] == [
        ("o1", "two\nlines"),
        ("o3", 'a "quoted" cell'),
    ]
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
    set_aside = read_parquet(
        tmp_path / "landing" / "_rejected" / "orders.parquet", "SELECT row, field, reason FROM t ORDER BY row"
    )
    assert [r[:2] for r in set_aside] == [(6, "ts"), (7, None)] and set_aside[1][2].startswith("malformed CSV line")
    assert read_parquet(
        tmp_path / "landing" / "orders" / "*.parquet", "SELECT order_id, source_row FROM t ORDER BY 1"
    ) == [("o1", 2), ("o2", 4), ("o3", 5)]
    con, counts = ingest_landing(tmp_path / "landing", tmp_path / "churn.duckdb")
    ((category,),) = rows(con, "SELECT category FROM raw.orders WHERE order_id = 'o1'")
    origins = [json.loads(r)["origin"] for (r,) in rows(con, "SELECT raw FROM quarantine.orders")]
    assert _same_text(category) == "two\nlines" and origins == [f"{src / name}:4"]
    assert_reconciled(con, [c for c in counts if c.read])


EXPORT_ERRORS = {
    "truncated gzip": ("orders.csv.gz", lambda t: gzipped(rows_text(20000))[:-40], ["truncated or corrupt gzip file"]),
    "truncated gzip, short": (
        "orders.csv.gz",
        lambda t: gzipped(f"{HEADER}\n{GOOD}\n")[:-12],
        ["truncated or corrupt gzip file"],
    ),
    "corrupt parquet": ("orders.parquet", corrupt_parquet, ["not a readable Parquet file"]),
    "huge field": (
        "orders.csv",
        lambda t: f'{HEADER},category\n{GOOD},x\nu2,o2,2024-03-01,3,"{"x" * (MAX_LINE_SIZE + 1)}"\n'.encode(),
        ["row 3:", f"longer than the limit of {MAX_LINE_SIZE:,}"],
    ),
    "huge json line": (
        "orders.jsonl",
        lambda t: b'{"user_id": "u1"}\n{"text": "' + b"x" * MAX_LINE_SIZE + b'"}\n',
        ["row 2:", f"longer than the limit of {MAX_LINE_SIZE:,}"],
    ),
    "quoted cell never closed": (
        "orders.csv",
        lambda t: f'{HEADER}\n{GOOD}\nu2,o2,2024-03-01,"3\nu3,o3,2024-03-01,4\n'.encode(),
        ["row 3:", "a quoted cell opens on this line and is never closed"],
    ),
    "latin-1 json lines": (
        "orders.jsonl",
        lambda t: b'{"user_id": "u1"}\n' * 5000 + b'{"user_id": "Caf\xe9"}\n',
        ["row 5001:", "not UTF-8 text"],
    ),
}


@pytest.mark.parametrize("case", EXPORT_ERRORS)
def test_an_unusable_export_file_is_one_error_naming_it(tmp_path, case):
    name, content, expected = EXPORT_ERRORS[case]
    message = prepare_error(tmp_path, {name: content(tmp_path)})
    assert name in message and all(e in message for e in expected), message
    assert not list((tmp_path / "landing").glob("orders/*"))
