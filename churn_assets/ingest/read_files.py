"""Read one landing file into string columns, keeping each record's line number.

Malformed records (wrong field count, invalid JSON) are returned separately with their raw text,
so that nothing is dropped silently. A file that cannot be read at all raises LandingFileError.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from churn_assets.ingest.text_files import TextFileError, one_line, open_text, scan_text
from churn_assets.warehouse.contract import FILE_FORMATS, SourceSpec, csv_delimiter, file_format, file_suffix

LINE = "_line"
ORIGIN = "_origin"  # "file:row" of the user's export a prepared landing row came from (else absent)


class LandingFileError(RuntimeError):
    """A landing file that cannot be used at all (unreadable, wrong format, missing required column)."""

    def __init__(self, path: Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


@dataclass
class FileRead:
    path: Path
    rows: pd.DataFrame  # contract columns as strings (NA where absent) + _line
    malformed: pd.DataFrame  # _line, reason, raw

    @property
    def n_read(self) -> int:
        return len(self.rows) + len(self.malformed)


def _malformed_frame(records: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=[LINE, "reason", "raw"]).astype({LINE: "int64"})


def _check_columns(path: Path, present: list[str], spec: SourceSpec) -> None:
    missing = [c.name for c in spec.columns if c.required and c.name not in present]
    if missing:
        raise LandingFileError(path, f"missing required column(s) {missing} for {spec.kind}; found columns {present}")
    twice = sorted({c for c in present if present.count(c) > 1 and c in spec.column_names})
    if twice:
        raise LandingFileError(path, f"column(s) {twice} appear more than once (names are matched ignoring case)")


def _frame(
    records: Sequence[Sequence[str | None]], lines: list[int], columns: list[str], spec: SourceSpec
) -> pd.DataFrame:
    df = (
        pd.DataFrame(records, columns=columns, dtype="string")
        if records
        else pd.DataFrame(columns=columns, dtype="string")
    )
    out = pd.DataFrame(
        {c: (df[c] if c in df.columns else pd.Series(pd.NA, index=df.index, dtype="string")) for c in spec.column_names}
    )
    out[LINE] = pd.Series(lines, dtype="int64", index=df.index)
    return out


def _read_csv(path: Path, spec: SourceSpec) -> FileRead:
    with open_text(path) as fh:
        reader = csv.reader(fh, delimiter=csv_delimiter(path.name))
        try:
            header = next(reader)
        except StopIteration:
            raise LandingFileError(path, "empty file: no header line") from None
        header = [h.strip().lower() for h in header]
        _check_columns(path, header, spec)
        width = len(header)
        good, lines, bad = [], [], []
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # a quoted field over the limit (longer lines stop in scan_text): the file stops
                raise LandingFileError(path, f"line {start}: {exc}") from None
            if not record:  # blank line
                continue
            if len(record) != width:
                bad.append((start, f"malformed line: expected {width} fields, got {len(record)}", ",".join(record)))
                continue
            good.append(record)
            lines.append(start)
    return FileRead(path, _frame(good, lines, header, spec), _malformed_frame(bad))


def _read_jsonl(path: Path, spec: SourceSpec) -> FileRead:
    """JSON lines parsed by DuckDB's JSON functions (one set-based pass), line numbers kept."""
    with open_text(path) as fh:
        lines = re.split(r"\r\n|\r|\n", fh.read())
    table = pa.table({LINE: pa.array(range(1, len(lines) + 1), pa.int64()), "raw": pa.array(lines, pa.string())})
    with duckdb.connect() as con:
        con.register("json_lines", table)
        checked = con.execute(
            "SELECT _line, raw, CASE WHEN json_valid(raw) THEN json_type(raw) = 'OBJECT' ELSE false END AS ok "
            "FROM json_lines WHERE trim(raw) <> ''"
        ).df()
        good = checked[checked["ok"]]
        keys = set()
        if len(good):
            con.register("good_lines", pa.table({"raw": pa.array(good["raw"].tolist(), pa.string())}))
            keys = {k for (k,) in con.execute("SELECT DISTINCT unnest(json_keys(raw)) FROM good_lines").fetchall()}
            lower = {k.lower(): k for k in sorted(keys, reverse=True)}  # case-insensitive column names
            _check_columns(path, sorted(lower), spec)
            picks = ", ".join(
                f'json_extract_string(raw, {_json_path(lower[c])}) AS "{c}"' if c in lower else f'NULL AS "{c}"'
                for c in spec.column_names
            )
            values = con.execute(f"SELECT {picks} FROM good_lines").df()
        else:
            values = pd.DataFrame(columns=spec.column_names)
    rows = values.astype("string")
    rows[LINE] = good[LINE].to_numpy(dtype="int64")
    bad = checked.loc[~checked["ok"], [LINE, "raw"]]
    malformed = pd.DataFrame(
        {
            LINE: bad[LINE].astype("int64"),
            "reason": "malformed JSON: not a JSON object",
            "raw": bad["raw"].str.slice(0, 1000),
        }
    )
    return FileRead(path, rows.reset_index(drop=True), malformed.reset_index(drop=True))


def _json_path(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''")
    return f"'$.\"{escaped}\"'"


def _read_parquet(path: Path, spec: SourceSpec) -> FileRead:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise LandingFileError(path, f"not a readable Parquet file ({one_line(exc)})") from exc
    table = table.rename_columns([c.lower() for c in table.column_names])
    _check_columns(path, table.column_names, spec)
    df = table.to_pandas()
    out = pd.DataFrame(index=df.index)
    for col in spec.column_names:
        if col not in df.columns:
            out[col] = pd.Series(pd.NA, index=df.index, dtype="string")
        elif pd.api.types.is_datetime64_any_dtype(df[col]):
            ts = df[col].dt.tz_convert("UTC") if df[col].dt.tz is not None else df[col]
            out[col] = ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").astype("string")
        elif pa.types.is_floating(table.schema.field(col).type):  # by Arrow: NaN stays "nan", not missing
            out[col] = table.column(col).cast(pa.string()).to_pandas().astype("string")
        else:
            out[col] = df[col].astype("string")
    out[LINE] = pd.Series(range(1, len(df) + 1), index=df.index, dtype="int64")
    if "source_file" in df.columns and "source_row" in df.columns:  # written by churn_assets.sources
        out[ORIGIN] = df["source_file"].astype("string") + ":" + df["source_row"].astype("string")
    return FileRead(path, out.reset_index(drop=True), _malformed_frame([]))


def _check_not_empty_or_misnamed(path: Path, suffix: str | None) -> None:
    """Plain cases named clearly: an empty file, a Parquet file named as text, binary data named as text."""
    if path.stat().st_size == 0:
        raise LandingFileError(path, "empty file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if file_format(path.name) != "parquet" and head[:4] == b"PAR1":
        raise LandingFileError(path, f"is a Parquet file, not {suffix}; name it .parquet")
    if suffix and not suffix.endswith(".gz") and file_format(path.name) != "parquet" and b"\x00" in head:
        raise LandingFileError(path, f"binary content (NUL bytes), not {suffix} text")


def read_landing_file(path: Path, spec: SourceSpec) -> FileRead:
    suffix, fmt = file_suffix(path.name), file_format(path.name)
    _check_not_empty_or_misnamed(path, suffix)
    try:
        if fmt in ("csv", "jsonl"):
            scan_text(path)
        if fmt == "csv":
            return _read_csv(path, spec)
        if fmt == "jsonl":
            return _read_jsonl(path, spec)
        if fmt == "parquet":
            return _read_parquet(path, spec)
    except LandingFileError:
        raise
    except TextFileError as exc:
        raise LandingFileError(path, str(exc)) from None
    except (UnicodeDecodeError, OSError, csv.Error, EOFError) as exc:
        raise LandingFileError(path, f"cannot be read as {suffix} ({type(exc).__name__}: {one_line(exc)})") from exc
    raise LandingFileError(path, f"unsupported file type; expected one of {[s for s, _ in FILE_FORMATS]}")
