"""Write prepared_<kind> as landing files: landing/<kind>/YYYY-MM-DD.parquet, one per day, and the rows
set aside as landing/_rejected/<kind>.parquet. DuckDB writes both; no row passes through Python.

A manifest (landing/_prepared.json) lists what was written, so that a second preparation replaces its
own files and never mixes with, or deletes, files it did not write.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb

from churn_assets.ingest.landing_files import is_landing_name
from churn_assets.sources.errors import SourceError
from churn_assets.sources.prepared import day_column, prepared_table
from churn_assets.sources.read_input import quote_ident
from churn_assets.sources.report import KindReport, PrepareReport
from churn_assets.warehouse.contract import SOURCES

MANIFEST = "_prepared.json"
REJECTED = "_rejected"
STAGING = "_staging"


def clear_previous(landing_dir: Path) -> None:
    """Remove what an earlier preparation wrote; refuse when landing holds files it did not write."""
    manifest = landing_dir / MANIFEST
    ours = set(json.loads(manifest.read_text())["files"]) if manifest.is_file() else set()
    foreign = []
    for kind in SOURCES:
        folder = landing_dir / kind
        if folder.is_dir():
            foreign += [
                p
                for p in folder.iterdir()
                if p.is_file() and is_landing_name(p.name) and str(p.relative_to(landing_dir)) not in ours
            ]
    if foreign:
        raise SourceError(
            f"already holds {len(foreign)} landing file(s) not written by a preparation (e.g. {foreign[0].relative_to(landing_dir)}); "
            "use another data directory or empty it",
            path=landing_dir,
        )
    for rel in ours:
        (landing_dir / rel).unlink(missing_ok=True)
    shutil.rmtree(landing_dir / REJECTED, ignore_errors=True)
    shutil.rmtree(landing_dir / STAGING, ignore_errors=True)
    manifest.unlink(missing_ok=True)


def count_kind(con: duckdb.DuckDBPyConnection, kind: str, until: date | None, report: KindReport) -> None:
    """Fill the report's written / merged / after-until / rejected / duplicate counts."""
    table, day = prepared_table(kind), quote_ident(day_column(kind))
    keep = f"CAST({day} AS DATE) <= $until" if until else "true"
    params = {"until": until} if until else {}
    written, used, after = con.execute(
        f"SELECT count(*) FILTER (WHERE _outcome = 'ok' AND {keep}), "
        f"COALESCE(sum(_n_input) FILTER (WHERE _outcome = 'ok' AND {keep}), 0), "
        f"COALESCE(sum(_n_input) FILTER (WHERE _outcome = 'ok' AND NOT ({keep})), 0) FROM {table}",
        params,
    ).fetchall()[0]
    report.rows_written, report.rows_merged, report.rows_after_until = written, used - written, after
    for outcome, reason, n in con.execute(
        f"SELECT _outcome, _reason, sum(_n_input) FROM {table} WHERE _outcome <> 'ok' GROUP BY ALL ORDER BY 3 DESC"
    ).fetchall():
        if outcome == "duplicate":
            report.rows_duplicate += n
        else:
            report.rejected[reason] = report.rejected.get(reason, 0) + n


def write_kind(
    con: duckdb.DuckDBPyConnection, kind: str, landing_dir: Path, until: date | None, report: KindReport
) -> list[Path]:
    """Landing files of one kind (one per day) and its rejected rows; returns the files written."""
    table, day = prepared_table(kind), quote_ident(day_column(kind))
    cols = ", ".join(quote_ident(c) for c in SOURCES[kind].column_names)
    keep = f"CAST({day} AS DATE) <= DATE '{until.isoformat()}'" if until else "true"  # a date, not user text
    staging = landing_dir / STAGING / kind
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    written: list[Path] = []
    if report.rows_written:
        con.execute(
            f"COPY (SELECT {cols}, _file AS source_file, _row AS source_row, strftime({day}, '%Y-%m-%d') AS day "
            f"FROM {table} WHERE _outcome = 'ok' AND {keep} ORDER BY {day}, _file, _row) "
            f"TO '{_sql_path(staging)}' (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'part_{{i}}')"
        )
        folder = landing_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        for part_dir in sorted(staging.glob("day=*")):
            name = part_dir.name.split("=", 1)[1]
            parts = sorted(part_dir.glob("*.parquet"))
            for i, part in enumerate(parts):
                target = folder / (f"{name}.parquet" if len(parts) == 1 else f"{name}_{i}.parquet")
                part.replace(target)
                written.append(target)
    shutil.rmtree(staging, ignore_errors=True)
    report.days = len({p.name[:10] for p in written})
    if report.rows_rejected or report.rows_duplicate:
        rejected = landing_dir / REJECTED
        rejected.mkdir(parents=True, exist_ok=True)
        target = rejected / f"{kind}.parquet"
        con.execute(
            "COPY (SELECT _file AS source_file, _row AS row, _field AS field, "
            "CASE WHEN _outcome = 'duplicate' THEN 'duplicate: ' || _reason ELSE _reason END AS reason, "
            f"_n_input AS input_rows, _raw AS raw FROM {table} WHERE _outcome <> 'ok' ORDER BY _file, _row) "
            f"TO '{_sql_path(target)}' (FORMAT parquet)"
        )
        written.append(target)
    return written


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def write_manifest(landing_dir: Path, report: PrepareReport, files: list[Path]) -> None:
    payload = {"report": report.to_dict(), "files": sorted(str(p.relative_to(landing_dir)) for p in files)}
    (landing_dir / MANIFEST).write_text(json.dumps(payload, indent=1))
    shutil.rmtree(landing_dir / STAGING, ignore_errors=True)
