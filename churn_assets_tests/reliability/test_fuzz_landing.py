"""Fuzzing the readers with Hypothesis: malformed CSV, JSON lines and Parquet files, as landing files and as
an export read through a mapping file, and mapping files themselves. Whatever the input, the outcome is a
read whose counts reconcile (every record read is accepted, quarantined or counted as a duplicate), or one of
our own errors (LandingFileError, SourceError) naming the file on one line: never another exception, never a
hang. Examples are derandomized (the same ones every run) and bounded, so the module runs in seconds."""

from __future__ import annotations

import csv
import gzip
import io
import json
import string
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from churn_assets.ingest.read_files import LandingFileError
from churn_assets.ingest.store import PartitionCounts, ingest_partition
from churn_assets.sources import SourceError, prepare_landing
from churn_assets.sources.mapping import KIND_KEYS, load_mapping
from churn_assets.warehouse.contract import SOURCES
from churn_assets_tests.source_helpers import NOW, ingest_landing, rows, warehouse

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]

DAY = date(2024, 3, 1)
ORDERS = SOURCES["orders"]
FUZZ = settings(
    max_examples=60,
    deadline=timedelta(seconds=10),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# values that look right, values that are wrong, and characters that break naive parsers
VALUES = {
    "user_id": st.sampled_from(["u1", "u2", "", " u3 ", "ü"]),
    "order_id": st.sampled_from(["o1", "o2", "o3", "o1", "", "1e5"]),
    "ts": st.sampled_from(
        [
            "2024-03-01 10:00",
            "2024-03-01 11:00",
            "2024-03-01T09:00:00+01:00",
            "1709287200",
            "2024-02-30",
            "soon",
            "",
            "1709287200000",
            "1900-01-01",
            "2999-01-01",
        ]
    ),
    "amount": st.sampled_from(["10", "0", "-1", "1e308", "inf", "nan", "1e999", "1,5", "", "12.50", "1000000001"]),
    "status": st.sampled_from(["paid", "PAID", "lost", ""]),
    "quantity": st.sampled_from(["1", "2.5", "0", "9999999", ""]),
}
TRICKY = st.text(alphabet=",;\"'\r\n\t |\\xé€\ufeff\u2028", max_size=8)
CELL = st.one_of(st.sampled_from(["a", ""]), TRICKY)
NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def order_rows(draw, min_records: int = 0) -> tuple[list[str], list[list[str]]]:
    columns = draw(st.lists(st.sampled_from(list(VALUES)), min_size=3, max_size=6, unique=True))
    columns = list(dict.fromkeys(["user_id", "order_id", "ts", "amount", *columns]))  # the required ones first
    records = draw(
        st.lists(
            st.one_of(
                st.tuples(*(VALUES[c] for c in columns)).map(list),
                st.lists(st.one_of(*(VALUES[c] for c in columns), CELL), min_size=1, max_size=len(columns) + 2),
            ),
            min_size=min_records,
            max_size=12,
        )
    )
    return columns, records


@st.composite
def damaged(draw, data: bytes, text: bool = True) -> tuple[bytes, bool]:
    """The bytes, perhaps with a byte order mark (text), a flipped byte or a cut end; True when left whole."""
    whole = True
    if text and draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if data and draw(st.integers(0, 4)) == 0:
        i = draw(st.integers(0, len(data) - 1))
        data, whole = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :], False
    if data and draw(st.integers(0, 4)) == 0:
        data, whole = data[: draw(st.integers(0, len(data)))], False
    return data, whole


def _csv_text(columns: list[str], records: list[list[str]], newline: str, quote_all: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows([columns, *records])
    return out.getvalue()


def _records_read_exactly(records: list[list[str]], quote_all: bool) -> int | None:
    """Records a reader must count in a whole file: every written record (blank lines are not records),
    unless an unquoted cell holds a line break (then the record is split and no count is certain)."""
    breaks = any(ch in cell for r in records for cell in r for ch in "\r\n")
    return None if breaks and not quote_all else len(records)


def _written(con: duckdb.DuckDBPyConnection) -> int:
    return rows(
        con,
        "SELECT (SELECT count(*) FROM raw.orders) + (SELECT count(*) FROM quarantine.orders) "
        "+ (SELECT count(*) FROM raw.ingest_log)",
    )[0][0]


def _ingest_or_refuse(folder: Path, path: Path) -> PartitionCounts | None:
    """Ingest one landing file: its counts, reconciled; or None after a one-line LandingFileError naming it,
    with nothing written."""
    con = warehouse()
    try:
        counts = ingest_partition(con, folder, ORDERS, DAY, now=NOW)
    except LandingFileError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc), str(exc)
        assert _written(con) == 0
        event("refused: " + str(exc).removeprefix(f"{path}: ").split(" (")[0].split(";")[0][:40])
        return None
    event("read")
    assert counts.reconciles
    assert rows(con, "SELECT count(*) FROM raw.orders") == [(counts.accepted,)]
    assert rows(con, "SELECT count(*) FROM quarantine.orders") == [(counts.rejected,)]
    return counts


def _landing(tmp_path_factory, name: str, data: bytes) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("landing")
    path = folder / "orders" / name
    path.parent.mkdir()
    path.write_bytes(data)
    return folder, path


@FUZZ
@given(table=order_rows(), newline=NEWLINES, quote_all=st.booleans(), gz=st.booleans(), data=st.data())
def test_fuzzed_csv_landing_files(tmp_path_factory, table, newline, quote_all, gz, data):
    columns, records = table
    raw, whole = data.draw(damaged(_csv_text(columns, records, newline, quote_all).encode()))
    folder, path = _landing(
        tmp_path_factory, "2024-03-01.csv" + (".gz" if gz else ""), gzip.compress(raw, mtime=0) if gz else raw
    )
    counts = _ingest_or_refuse(folder, path)
    expected = _records_read_exactly(records, quote_all) if whole else None
    if expected is not None and records:
        assert counts is not None and counts.read == expected


JSON_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=6),
    st.lists(st.integers(), max_size=2),
)


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {k: VALUES[k] for k in ("user_id", "order_id", "ts", "amount")},
                optional={"status": VALUES["status"], "Amount": JSON_VALUE, "x": JSON_VALUE},
            ).map(json.dumps),
            st.dictionaries(st.sampled_from(["user_id", "order_id", "ts", "amount", "AMOUNT", "é"]), JSON_VALUE).map(
                json.dumps
            ),
            st.sampled_from(["", "   ", "[1, 2]", "42", "null", '{"user_id": ', "not json", '"text"']),
        ),
        max_size=12,
    ),
    newline=NEWLINES,
    gz=st.booleans(),
    data=st.data(),
)
def test_fuzzed_json_lines_landing_files(tmp_path_factory, lines, newline, gz, data):
    raw, whole = data.draw(damaged(newline.join(lines).encode()))
    folder, path = _landing(
        tmp_path_factory, "2024-03-01.jsonl" + (".gz" if gz else ""), gzip.compress(raw, mtime=0) if gz else raw
    )
    counts = _ingest_or_refuse(folder, path)
    if whole and counts is not None:
        assert counts.read == sum(1 for line in lines if line.strip())


ARROW_COLUMNS = {
    "str": (pa.string(), st.one_of(st.none(), st.text(max_size=5), st.sampled_from(["10", "2024-03-01 10:00", "nan"]))),
    "int": (pa.int64(), st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.sampled_from([1709287200, 0, -1]))),
    "float": (pa.float64(), st.one_of(st.none(), st.floats(), st.sampled_from([1e308, 10.0]))),
    "timestamp": (pa.timestamp("us"), st.one_of(st.none(), st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1)))),
    "bool": (pa.bool_(), st.one_of(st.none(), st.booleans())),
    "binary": (pa.binary(), st.one_of(st.none(), st.binary(max_size=4))),
}


@st.composite
def parquet_files(draw) -> tuple[bytes, int]:
    n = draw(st.integers(0, 8))
    dropped = draw(st.sampled_from([None] * 5 + ["user_id", "ts", "amount"]))
    extras = draw(st.lists(st.sampled_from(["status", "quantity", "extra", "USER_ID"]), max_size=3, unique=True))
    names = [c for c in ("user_id", "order_id", "ts", "amount") if c != dropped] + extras
    columns = {}
    for name in names:
        arrow_type, values = ARROW_COLUMNS[draw(st.sampled_from(sorted(ARROW_COLUMNS)))]
        columns[name] = pa.array(draw(st.lists(values, min_size=n, max_size=n)), arrow_type)
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue(), n


@FUZZ
@given(parquet=parquet_files(), data=st.data())
def test_fuzzed_parquet_landing_files(tmp_path_factory, parquet, data):
    content, n = parquet
    raw, whole = data.draw(damaged(content, text=False))
    folder, path = _landing(tmp_path_factory, "2024-03-01.parquet", raw)
    counts = _ingest_or_refuse(folder, path)
    if whole and counts is not None:
        assert counts.read == n


@settings(FUZZ, max_examples=25)
@given(
    table=order_rows(min_records=1),
    newline=NEWLINES,
    quote_all=st.booleans(),
    fmt=st.sampled_from(["csv", "csv.gz", "parquet"]),
    data=st.data(),
)
def test_fuzzed_exports_through_a_mapping_file(tmp_path_factory, table, newline, quote_all, fmt, data):
    """The export reader: prepare_landing counts reconcile (it raises otherwise), the landing files it writes
    are ingested with reconciling counts, and a whole CSV is read with the same records as a landing file."""
    columns, records = table
    base = tmp_path_factory.mktemp("shop")
    name = f"export.{fmt}"
    if fmt == "parquet":
        content, _ = data.draw(parquet_files())
    else:
        content = _csv_text(columns, records, newline, quote_all).encode()
    raw, whole = data.draw(damaged(content, text=fmt != "parquet"))
    (base / name).write_bytes(gzip.compress(raw, mtime=0) if fmt.endswith(".gz") else raw)
    (base / "mapping.yaml").write_text(f"orders:\n  file: {name}\n")
    try:
        report = prepare_landing(base, base / "landing", mapping=base / "mapping.yaml", until=date(2030, 1, 1))
    except SourceError as exc:
        assert "\n" not in str(exc) and (str(base / name) in str(exc) or str(base) in str(exc)), str(exc)
        event("refused: " + str(exc).split(": ", 1)[-1].split(" (")[0][:40])
        return
    event("read")
    orders = report.kinds["orders"]
    assert orders.reconciles
    expected = _records_read_exactly(records, quote_all) if whole and fmt != "parquet" else None
    if expected is not None:
        assert orders.rows_read == expected
    con, counts = ingest_landing(base / "landing", base / "churn.duckdb")
    assert all(c.reconciles for c in counts)
    assert sum(c.read for c in counts if c.kind == "orders") == orders.rows_written


SETTING_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.floats(),
        st.text(string.printable, max_size=12),
        st.sampled_from(["export.csv", "../x.csv", "/etc/passwd", "*.csv", "%d/%m/%Y", "Europe/Berlin", ";"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(string.ascii_letters, max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(FUZZ, max_examples=60)
@given(
    section=st.fixed_dictionaries(
        {"file": st.one_of(st.sampled_from(["export.csv", "*.csv", "../x.csv", "/etc/passwd"]), SETTING_VALUES)},
        optional={key: SETTING_VALUES for key in sorted(KIND_KEYS - {"file"} | {"colour"})},
    ),
    kinds=st.lists(
        st.sampled_from(["orders", "orders", "users", "events", "reviews", "shop"]), min_size=1, max_size=2, unique=True
    ),
    mangle=st.sampled_from(["", "yaml-garbage", "toml"]),
)
def test_fuzzed_mapping_files(tmp_path_factory, section, kinds, mangle):
    base = tmp_path_factory.mktemp("shop")
    (base / "export.csv").write_text("user_id,order_id,ts,amount\nu1,o1,2024-03-01,10\n")
    text = yaml.safe_dump({kind: section for kind in kinds})
    path = base / ("mapping.toml" if mangle == "toml" else "mapping.yaml")
    path.write_text(text + ("\n: [unclosed\n" if mangle == "yaml-garbage" else ""))
    try:
        with duckdb.connect() as con:
            load_mapping(path, base, con)
    except SourceError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc), str(exc)
        event("refused")
    else:
        event("read")
