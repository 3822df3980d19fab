"""Helpers shared by the public data set adapters: find their files, name their columns."""

from __future__ import annotations

from pathlib import Path

import duckdb

from churn_assets.sources.errors import SourceError
from churn_assets.sources.read_input import InputTable, file_format, is_data_file, load_input


def find_files(input_dir: Path, stem: str, required: bool = True, what: str = "") -> list[Path]:
    """Data files at the top of input_dir whose name starts with `stem` (case-insensitive). Not below:
    the input directory is often the data directory, with landing/, exports/ and reports/ inside."""
    hits = sorted(p for p in input_dir.iterdir() if is_data_file(p) and p.name.lower().startswith(stem.lower()))
    if required and not hits:
        found = sorted(p.name for p in input_dir.iterdir() if is_data_file(p))
        raise SourceError(
            f"no {what or stem} file ({stem}*.csv|.csv.gz|.parquet); found {found or 'no data files'}", path=input_dir
        )
    return hits


def require_columns(
    table: InputTable, wanted: dict[str, tuple[str, ...]], kind: str, optional: tuple[str, ...] = ()
) -> dict[str, str | None]:
    """Map each logical column to the file's column (first alias found, case-insensitive)."""
    out: dict[str, str | None] = {}
    for key, aliases in wanted.items():
        out[key] = next((c for c in (table.column(a) for a in aliases) if c is not None), None)
        if out[key] is None and key not in optional:
            raise SourceError(
                f"missing column {aliases[0]!r}{' (or ' + ', '.join(map(repr, aliases[1:])) + ')' if len(aliases) > 1 else ''}; "
                f"found columns: {', '.join(table.columns)}",
                path=table.path,
                kind=kind,
                column=aliases[0],
            )
    return out


def load_all(con: duckdb.DuckDBPyConnection, files: list[Path]) -> list[InputTable]:
    return [load_input(con, f) for f in files]


def header_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Column names of a CSV or Parquet file without reading its rows ([] when they cannot be read)."""
    fmt = file_format(path)
    reader = {"csv": "read_csv($p, all_varchar = true)", "parquet": "read_parquet($p)"}.get(fmt)
    if reader is None:
        return []
    try:
        return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}", {"p": str(path)}).fetchall()]
    except duckdb.Error:
        return []
