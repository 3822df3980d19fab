"""Open one input file (CSV, JSON lines or Parquet, gzip or not) as a DuckDB temp table.

Text formats arrive as VARCHAR columns (no type guessing: a column with mixed types stays readable and
each value is judged later, row by row); Parquet keeps its own types. Every table has `_row`: the line
in the file for CSV / JSON lines (the header is line 1; blank lines are counted), the 1-based row for
Parquet. Records that cannot be parsed (wrong field count, invalid JSON) go to a rejects table with
their line and reason. A file that cannot be used at all raises SourceError naming it.
"""

from __future__ import annotations

import gzip
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from churn_assets.sources.errors import SourceError

# longest suffix first: "x.csv.gz" is csv, gzip decompressed by DuckDB
SUFFIX_FORMATS = (
    (".csv.gz", "csv"), (".tsv.gz", "csv"), (".txt.gz", "csv"),
    (".jsonl.gz", "jsonl"), (".ndjson.gz", "jsonl"), (".json.gz", "jsonl"),
    (".csv", "csv"), (".tsv", "csv"), (".txt", "csv"),
    (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"),
    (".parquet", "parquet"), (".pq", "parquet"),
)
FORMATS = ("csv", "jsonl", "parquet")
MAX_JSON_KEYS = 500
SNIFF_BYTES = 1 << 16
_counter = itertools.count()

# one table per input: [_row, columns...]; rejects: (_file, _row, reason, raw)
REJECTS_DDL = "CREATE TEMP TABLE IF NOT EXISTS input_rejects (_file VARCHAR, _row BIGINT, reason VARCHAR, raw VARCHAR)"


def file_format(path: Path, declared: str | None = None) -> str | None:
    if declared:
        return declared
    name = path.name.lower()
    return next((fmt for suffix, fmt in SUFFIX_FORMATS if name.endswith(suffix)), None)


def is_data_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith((".", "_")) and file_format(path) is not None


@dataclass
class InputTable:
    path: Path
    table: str  # DuckDB temp table: _row + the file's columns
    columns: dict[str, str]  # the file's column name -> DuckDB type
    rows: int  # records read into the table
    malformed: int  # records set aside in input_rejects

    @property
    def rows_read(self) -> int:
        return self.rows + self.malformed

    def column(self, wanted: str) -> str | None:
        """The file's name for a column: exact match first, then case- and space-insensitive."""
        if wanted in self.columns:
            return wanted
        key = wanted.strip().lower()
        hits = [c for c in self.columns if c.strip().lower() == key]
        return hits[0] if len(hits) == 1 else None


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        raw = fh.read(SNIFF_BYTES)
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as fh:
                return fh.read(SNIFF_BYTES)
        except (OSError, EOFError) as exc:
            raise SourceError(f"broken gzip file ({exc})", path=path) from exc
    return raw


def check_content(path: Path, fmt: str) -> bytes:
    """Fail early, naming the file, on what is plainly not a `fmt` file; return its first bytes."""
    if not path.is_file():
        raise SourceError("no such file", path=path)
    if path.stat().st_size == 0:
        raise SourceError("empty file (0 bytes)", path=path)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if path.name.lower().endswith(".gz") and magic[:2] != b"\x1f\x8b":
        raise SourceError("named .gz but is not gzip-compressed", path=path)
    head = _head(path)
    if not head.strip():
        raise SourceError("empty file (no header line or record)" if fmt != "parquet" else "empty file", path=path)
    if fmt == "parquet":
        if magic != b"PAR1":
            raise SourceError("not a Parquet file (no PAR1 magic bytes); is it CSV or JSON named .parquet?", path=path)
        return head
    if head[:4] == b"PAR1":
        raise SourceError(f"is a Parquet file, not {fmt}; name it .parquet", path=path)
    if head[:4] == b"PK\x03\x04":
        raise SourceError(f"is a ZIP archive (or an Excel workbook), not {fmt}; unzip it or save the sheet as CSV", path=path)
    if b"\x00" in head:
        raise SourceError(f"binary content (NUL bytes), not {fmt} text", path=path)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < SNIFF_BYTES or exc.start < len(head) - 4:  # a character cut by the sniff window is fine
            raise SourceError("not UTF-8 text; re-save the file as UTF-8", path=path, row=head[:exc.start].count(b"\n") + 1) from None
    if fmt == "jsonl" and head.lstrip()[:1] == b"[":
        raise SourceError("a JSON array, not JSON lines; write one JSON object per line", path=path)
    return head


def detect_delimiter(header: str) -> str:
    """The separator of a CSV header line: the most frequent of , ; tab | outside quotes."""
    counts = {d: 0 for d in (",", ";", "\t", "|")}
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _line_table(con: duckdb.DuckDBPyConnection, path: Path, name: str, blank_only: bool = False) -> None:
    """Every physical line of a text file as (line, raw), blank lines included (raw NULL); or only the
    numbers of the blank lines."""
    lines = (
        "SELECT row_number() OVER () AS line, raw FROM read_csv($path, columns = {'raw': 'VARCHAR'}, header = false, "
        "delim = $delim, quote = '', escape = '', auto_detect = false, max_line_size = 100000000)"
    )
    try:
        con.execute(
            f"CREATE TEMP TABLE {name} AS " + (f"SELECT line FROM ({lines}) WHERE raw IS NULL" if blank_only else lines),
            {"path": str(path), "delim": "\x01"},
        )
    except duckdb.Error as exc:
        line = re.search(r"on Line: (\d+)", str(exc))
        if "unicode" in str(exc).lower():
            raise SourceError("not UTF-8 text; re-save the file as UTF-8", path=path, row=int(line.group(1)) if line else None) from None
        raise SourceError(f"cannot be read as text ({str(exc).splitlines()[0]})", path=path) from exc


def _load_csv(con: duckdb.DuckDBPyConnection, path: Path, head: bytes, table: str, delimiter: str | None) -> InputTable:
    header = head.decode("utf-8", errors="replace").splitlines()[0]
    delim = delimiter or detect_delimiter(header)
    rejects, scans = f"{table}_rej", f"{table}_scan"
    try:
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT row_number() OVER () + 1 AS _row, * FROM read_csv($path, "
            "all_varchar = true, header = true, delim = $delim, quote = '\"', escape = '\"', ignore_errors = true, "
            f"store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{scans}', max_line_size = 100000000)",
            {"path": str(path), "delim": delim},
        )
    except duckdb.Error as exc:
        raise SourceError(f"cannot be read as CSV ({str(exc).splitlines()[0]})", path=path) from exc
    # Records come in file order; lines that are not records (blank, malformed) shift the line numbers:
    # record i sits on line i + 1 + (number of skipped lines s_j with s_j - j <= i), s sorted, j from 1.
    _line_table(con, path, f"{table}_blank", blank_only=True)
    con.execute(
        f"CREATE TEMP TABLE {table}_skipped AS SELECT line, row_number() OVER (ORDER BY line) AS j FROM ("
        f"SELECT DISTINCT line FROM {rejects} UNION SELECT line FROM {table}_blank WHERE line > 1)"
    )
    if con.execute(f"SELECT count(*) FROM {table}_skipped").fetchall()[0][0]:
        con.execute(
            f"CREATE TEMP TABLE {table}_fixed AS SELECT r._row + COALESCE(k.j, 0) AS _row, r.* EXCLUDE (_row) "
            f"FROM {table} AS r ASOF LEFT JOIN (SELECT line - j AS key, max(j) AS j FROM {table}_skipped GROUP BY key) AS k "
            "ON r._row - 1 >= k.key ORDER BY r._row"
        )
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {table}_fixed RENAME TO {table}")
    con.execute(REJECTS_DDL)
    con.execute(
        "INSERT INTO input_rejects SELECT $file, line, 'malformed CSV line: ' || any_value(error_message), "
        f"left(trim(any_value(csv_line), chr(10) || chr(13)), 1000) FROM {rejects} GROUP BY line",
        {"file": str(path)},
    )
    malformed = con.execute(f"SELECT count(DISTINCT line) FROM {rejects}").fetchall()[0][0]
    for t in (f"{table}_blank", f"{table}_skipped", rejects, scans):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return _finish(con, path, table, malformed)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _load_jsonl(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> InputTable:
    _line_table(con, path, f"{table}_lines")
    con.execute(
        f"CREATE TEMP TABLE {table}_ok AS SELECT line, raw, "
        "CASE WHEN json_valid(raw) THEN json_type(raw) = 'OBJECT' ELSE false END AS ok "
        f"FROM {table}_lines WHERE raw IS NOT NULL AND trim(raw) <> ''"
    )
    keys = [k for (k,) in con.execute(
        f"SELECT k FROM (SELECT unnest(json_keys(raw)) AS k, min(line) AS first FROM {table}_ok WHERE ok GROUP BY k) ORDER BY first"
    ).fetchall()]
    if len(keys) > MAX_JSON_KEYS:
        raise SourceError(f"{len(keys)} different keys in the JSON objects (more than {MAX_JSON_KEYS}); is this a JSON lines table?", path=path)
    # json_extract_string keeps a number's text and a nested value's JSON: mixed types stay visible
    picks = "".join(
        f", json_extract_string(raw, {_sql_string(chr(36) + '.' + _json_key(k))}) AS {quote_ident(k)}" for k in keys
    )
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT line AS _row{picks} FROM {table}_ok WHERE ok ORDER BY line")
    con.execute(REJECTS_DDL)
    con.execute(
        f"INSERT INTO input_rejects SELECT $file, line, 'malformed JSON line: not a JSON object', left(raw, 1000) "
        f"FROM {table}_ok WHERE NOT ok",
        {"file": str(path)},
    )
    malformed = con.execute(f"SELECT count(*) FROM {table}_ok WHERE NOT ok").fetchall()[0][0]
    con.execute(f"DROP TABLE {table}_lines")
    con.execute(f"DROP TABLE {table}_ok")
    return _finish(con, path, table, malformed)


def _json_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _load_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> InputTable:
    try:
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT file_row_number + 1 AS _row, * EXCLUDE (file_row_number) "
            "FROM read_parquet($path, file_row_number = true)",
            {"path": str(path)},
        )
    except duckdb.Error as exc:
        raise SourceError(f"not a readable Parquet file ({str(exc).splitlines()[0]})", path=path) from exc
    return _finish(con, path, table, 0)


def _finish(con: duckdb.DuckDBPyConnection, path: Path, table: str, malformed: int) -> InputTable:
    columns = {name: dtype for name, dtype, *_ in con.execute(f"DESCRIBE {table}").fetchall() if name != "_row"}
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return InputTable(path, table, columns, rows, malformed)


def load_input(con: duckdb.DuckDBPyConnection, path: Path, fmt: str | None = None, delimiter: str | None = None) -> InputTable:
    """Read one file into a new temp table (see module docstring)."""
    fmt = file_format(path, fmt)
    if fmt not in FORMATS:
        raise SourceError(f"unknown file type; expected one of {', '.join(s for s, _ in SUFFIX_FORMATS)}", path=path)
    head = check_content(path, fmt)
    table = f"input_{next(_counter)}"
    if fmt == "csv":
        return _load_csv(con, path, head, table, delimiter)
    if fmt == "jsonl":
        return _load_jsonl(con, path, table)
    return _load_parquet(con, path, table)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
