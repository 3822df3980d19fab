"""Open one input file (CSV, JSON lines or Parquet, gzip or not) as a DuckDB temp table.

Text formats arrive as VARCHAR columns (no type guessing: a column with mixed types stays readable and
each value is judged later, row by row); Parquet keeps its own types. Every table has `_row`: the line
in the file for CSV / JSON lines (the header is line 1; blank lines are counted), the 1-based row for
Parquet; a quoted cell spanning lines counts them all. Records that cannot be parsed (wrong field count,
invalid JSON) go to a rejects table with their line and reason. A file that cannot be used at all raises
SourceError naming it (and the line where it applies). Text files are checked first, in one pass
(ingest/text_files.py: gzip, UTF-8, line length); one that mixes line ends (CR-LF and LF, or lone CR) is
read from an LF copy, which DuckDB's CSV reader needs.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import itertools
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from churn_assets.ingest.text_files import TextFileError, lf_copy, one_line, open_text, scan_text
from churn_assets.sources.errors import SourceError
from churn_assets.warehouse.contract import FILE_FORMATS, MAX_LINE_SIZE
from churn_assets.warehouse.contract import file_format as contract_file_format

FORMATS = ("csv", "jsonl", "parquet")
MAX_JSON_KEYS = 500
SNIFF_BYTES = 1 << 16
_counter = itertools.count()

# one table per input: [_row, columns...]; rejects: (_file, _row, reason, raw)
REJECTS_DDL = "CREATE TEMP TABLE IF NOT EXISTS input_rejects (_file VARCHAR, _row BIGINT, reason VARCHAR, raw VARCHAR)"


def file_format(path: Path, declared: str | None = None) -> str | None:
    if declared:
        return declared
    return contract_file_format(path.name)


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
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceError(f"truncated or corrupt gzip file ({one_line(exc)})", path=path) from None
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
        raise SourceError(
            f"is a ZIP archive (or an Excel workbook), not {fmt}; unzip it or save the sheet as CSV", path=path
        )
    if b"\x00" in head:
        raise SourceError(f"binary content (NUL bytes), not {fmt} text", path=path)
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


def _error_line(exc: duckdb.Error) -> int | None:
    found = re.search(r"on Line: (\d+)", str(exc))
    return int(found.group(1)) if found else None


def _line_table(con: duckdb.DuckDBPyConnection, path: Path, source: Path, name: str, quotes: bool = False) -> None:
    """Every physical line of a text file as (line, raw), blank lines included (raw NULL); or, with `quotes`,
    only the lines that are blank or hold an odd number of '"' (a quoted cell may break the line there),
    as (line, blank, odd). `source` is the file to read, `path` the one to name."""
    lines = (
        "SELECT row_number() OVER () AS line, raw FROM read_csv($path, columns = {'raw': 'VARCHAR'}, header = false, "
        f"delim = $delim, quote = '', escape = '', auto_detect = false, strict_mode = false, max_line_size = {MAX_LINE_SIZE})"
    )
    if quotes:
        odd = "COALESCE(contains(raw, '\"') AND (length(raw) - length(replace(raw, '\"', ''))) % 2 = 1, false)"
        lines = f"SELECT line, raw IS NULL AS blank, {odd} AS odd FROM ({lines}) WHERE raw IS NULL OR {odd}"
    try:
        con.execute(f"CREATE TEMP TABLE {name} AS {lines}", {"path": str(source), "delim": "\x01"})
    except duckdb.Error as exc:
        raise SourceError(f"cannot be read as text ({one_line(exc)})", path=path, row=_error_line(exc)) from None


def _unclosed_quote(con: duckdb.DuckDBPyConnection, path: Path, source: Path, table: str) -> int | None:
    """The line where a quoted cell opens that no later line closes (an odd number of '"' in the file)."""
    _line_table(con, path, source, f"{table}_quotes", quotes=True)
    n, last = con.execute(f"SELECT count(*), max(line) FROM {table}_quotes WHERE odd").fetchall()[0]
    con.execute(f"DROP TABLE {table}_quotes")
    return last if n % 2 else None


def _load_csv(
    con: duckdb.DuckDBPyConnection, path: Path, source: Path, head: bytes, table: str, delimiter: str | None
) -> InputTable:
    header = head.decode("utf-8", errors="replace").splitlines()[0]
    delim = delimiter or detect_delimiter(header)
    rejects, scans = f"{table}_rej", f"{table}_scan"
    try:
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT row_number() OVER () + 1 AS _row, * FROM read_csv($path, "
            "all_varchar = true, header = true, delim = $delim, quote = '\"', escape = '\"', ignore_errors = true, "
            f"store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{scans}', max_line_size = {MAX_LINE_SIZE})",
            {"path": str(source), "delim": delim},
        )
    except duckdb.Error as exc:
        unclosed = _unclosed_quote(con, path, source, table)
        why = "a quoted cell opens on this line and is never closed" if unclosed else one_line(exc)
        raise SourceError(f"cannot be read as CSV ({why})", path=path, row=unclosed or _error_line(exc)) from None
    _number_lines(con, path, source, delim, table, rejects)
    malformed = con.execute(f"SELECT count(DISTINCT line) FROM {rejects}").fetchall()[0][0]
    for t in (rejects, scans):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return _finish(con, path, table, malformed)


def _record_shifts(path: Path, source: Path, delim: str) -> tuple[list[int], list[int], list[int]]:
    """For a file in which a quoted cell may span lines: Python's csv module, which splits records as DuckDB
    does, says on which line each record (ordinal) starts. Kept small: the ordinals where line - ordinal
    changes, the new differences, and the ordinals of blank lines."""
    ords, shifts, blanks, end = [], [], [], 0
    with open_text(source) as fh:
        reader = csv.reader(fh, delimiter=delim)
        try:
            for ordinal, record in enumerate(reader, start=1):
                if end + 1 - ordinal != (shifts[-1] if shifts else 0):
                    ords.append(ordinal)
                    shifts.append(end + 1 - ordinal)
                if not record:
                    blanks.append(ordinal)
                end = reader.line_num
        except csv.Error as exc:
            raise SourceError(f"cannot be read as CSV ({exc})", path=path, row=end + 1) from None
    return ords, shifts, blanks


def _number_lines(
    con: duckdb.DuckDBPyConnection, path: Path, source: Path, delim: str, table: str, rejects: str
) -> None:
    """Give each record of `table` the line it starts on, and copy the rejects to input_rejects with theirs.
    DuckDB numbers records (ordinals: the header is 1, a blank line counts, a line break inside a quoted
    cell does not). Records come in file order, so record i has ordinal i + 1 + (number of skipped ordinals
    s_j with s_j - j <= i), s (blank lines and rejects) sorted, j from 1. Ordinal o starts on line o, plus
    the line breaks inside quoted cells before it (`_record_shifts`, only for files with such cells)."""
    t = table
    _line_table(con, path, source, f"{t}_special", quotes=True)
    if con.execute(f"SELECT count(*) FROM {t}_special WHERE odd").fetchall()[0][0]:
        ords, shifts, blanks = _record_shifts(path, source, delim)
    else:
        ords, shifts, blanks = (
            [],
            [],
            [line for (line,) in con.execute(f"SELECT line FROM {t}_special WHERE blank").fetchall()],
        )
    con.execute(
        f"CREATE TEMP TABLE {t}_shifts AS SELECT unnest(CAST($ords AS BIGINT[])) AS ord, unnest(CAST($shifts AS BIGINT[])) AS shift",
        {"ords": ords, "shifts": shifts},
    )
    con.execute(
        f"CREATE TEMP TABLE {t}_skipped AS SELECT ord, row_number() OVER (ORDER BY ord) AS j FROM ("
        f"SELECT DISTINCT line AS ord FROM {rejects} UNION SELECT b FROM unnest(CAST($blanks AS BIGINT[])) AS u(b) WHERE b > 1)",
        {"blanks": blanks},
    )
    if con.execute(f"SELECT (SELECT count(*) FROM {t}_skipped) + (SELECT count(*) FROM {t}_shifts)").fetchall()[0][0]:
        con.execute(
            f"CREATE TEMP TABLE {t}_fixed AS SELECT o._ord + COALESCE(s.shift, 0) AS _row, o.* EXCLUDE (_row, _ord) FROM ("
            f"SELECT r._row + COALESCE(k.j, 0) AS _ord, r.* FROM {t} AS r ASOF LEFT JOIN "
            f"(SELECT ord - j AS key, max(j) AS j FROM {t}_skipped GROUP BY key) AS k ON r._row - 1 >= k.key"
            f") AS o ASOF LEFT JOIN {t}_shifts AS s ON o._ord >= s.ord ORDER BY o._ord"
        )
        con.execute(f"DROP TABLE {t}")
        con.execute(f"ALTER TABLE {t}_fixed RENAME TO {t}")
    con.execute(REJECTS_DDL)
    con.execute(
        "INSERT INTO input_rejects SELECT $file, j.line + COALESCE(s.shift, 0), j.reason, j.raw FROM ("
        "SELECT line, 'malformed CSV line: ' || any_value(error_message) AS reason, "
        f"left(trim(any_value(csv_line), chr(10) || chr(13)), 1000) AS raw FROM {rejects} GROUP BY line) AS j "
        f"ASOF LEFT JOIN {t}_shifts AS s ON j.line >= s.ord",
        {"file": str(path)},
    )
    for name in ("special", "shifts", "skipped"):
        con.execute(f"DROP TABLE IF EXISTS {t}_{name}")


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _load_jsonl(con: duckdb.DuckDBPyConnection, path: Path, source: Path, table: str) -> InputTable:
    _line_table(con, path, source, f"{table}_lines")
    con.execute(
        f"CREATE TEMP TABLE {table}_ok AS SELECT line, raw, "
        "CASE WHEN json_valid(raw) THEN json_type(raw) = 'OBJECT' ELSE false END AS ok "
        f"FROM {table}_lines WHERE raw IS NOT NULL AND trim(raw) <> ''"
    )
    keys = [
        k
        for (k,) in con.execute(
            f"SELECT k FROM (SELECT unnest(json_keys(raw)) AS k, min(line) AS first FROM {table}_ok WHERE ok GROUP BY k) ORDER BY first"
        ).fetchall()
    ]
    if len(keys) > MAX_JSON_KEYS:
        raise SourceError(
            f"{len(keys)} different keys in the JSON objects (more than {MAX_JSON_KEYS}); is this a JSON lines table?",
            path=path,
        )
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
        raise SourceError(f"not a readable Parquet file ({one_line(exc)})", path=path) from None
    return _finish(con, path, table, 0)


def _finish(con: duckdb.DuckDBPyConnection, path: Path, table: str, malformed: int) -> InputTable:
    columns = {name: dtype for name, dtype, *_ in con.execute(f"DESCRIBE {table}").fetchall() if name != "_row"}
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return InputTable(path, table, columns, rows, malformed)


def load_input(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str | None = None, delimiter: str | None = None
) -> InputTable:
    """Read one file into a new temp table (see module docstring)."""
    fmt = file_format(path, fmt)
    if fmt not in FORMATS:
        raise SourceError(f"unknown file type; expected one of {', '.join(s for s, _ in FILE_FORMATS)}", path=path)
    head = check_content(path, fmt)
    table = f"input_{next(_counter)}"
    if fmt == "parquet":
        return _load_parquet(con, path, table)
    try:
        mixed_line_ends = scan_text(path)
    except TextFileError as exc:
        raise SourceError(exc.problem, path=path, row=exc.line) from None
    with lf_copy(path) if mixed_line_ends else contextlib.nullcontext(path) as source:
        if fmt == "csv":
            return _load_csv(con, path, source, head, table, delimiter)
        return _load_jsonl(con, path, source, table)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
