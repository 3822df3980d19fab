"""Write one (source, day) partition into raw.<kind> and quarantine.<kind>, atomically."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from churn_assets.ingest.landing_files import partition_files
from churn_assets.ingest.privacy import mask_pii_sql
from churn_assets.ingest.read_files import LINE, ORIGIN, read_landing_file
from churn_assets.ingest.validate import SQL_TYPES, validation_sql
from churn_assets.warehouse.contract import SourceSpec

SOURCE_FILE = "_source_file"


@dataclass
class PartitionCounts:
    kind: str
    partition_date: date
    files: int
    read: int
    accepted: int
    rejected: int
    duplicates: int  # repeats of a natural key within the partition: not kept
    # accepted rows whose natural key was already ingested on an earlier day: kept in raw.<kind> (the staging
    # models keep the earliest), counted by record_cross_day_duplicates once a run's partitions are in
    cross_day_duplicates: int = 0

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.rejected + self.duplicates


def ensure_tables(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """raw.<kind>, quarantine.<kind> and raw.ingest_log exist even when a source never lands (neutral features)."""
    cols = ", ".join(f'"{c.name}" {SQL_TYPES[c.kind]}' for c in spec.columns)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE SCHEMA IF NOT EXISTS quarantine")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS raw.{spec.kind} ({cols}, _partition_date DATE, "
        "_source_file VARCHAR, _source_line BIGINT, _ingested_at TIMESTAMP)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS quarantine.{spec.kind} (partition_date DATE, source_file VARCHAR, "
        "line BIGINT, field VARCHAR, reason VARCHAR, raw VARCHAR, ingested_at TIMESTAMP)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS raw.ingest_log (kind VARCHAR, partition_date DATE, files BIGINT, "
        "read BIGINT, accepted BIGINT, rejected BIGINT, duplicates BIGINT, ingested_at TIMESTAMP)"
    )
    con.execute("ALTER TABLE raw.ingest_log ADD COLUMN IF NOT EXISTS cross_day_duplicates BIGINT DEFAULT 0")


def users_are_known(con: duckdb.DuckDBPyConnection) -> bool:
    """Other sources' user ids are checked only when the shop provides a users source."""
    return con.execute("SELECT EXISTS (SELECT 1 FROM raw.users)").fetchall()[0][0]


def _read_partition(landing: Path, spec: SourceSpec, day: date) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    files = partition_files(landing, spec.kind, day)
    rows, malformed = [], []
    for path in files:
        got = read_landing_file(path, spec)
        rows.append(got.rows.assign(**{SOURCE_FILE: str(path)}))
        malformed.append(got.malformed.assign(**{SOURCE_FILE: str(path)}))
    all_rows = (
        pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=[*spec.column_names, LINE, SOURCE_FILE])
    )
    all_bad = (
        pd.concat(malformed, ignore_index=True)
        if malformed
        else pd.DataFrame(columns=[LINE, SOURCE_FILE, "reason", "raw"])
    )
    if ORIGIN not in all_rows.columns:
        all_rows[ORIGIN] = pd.Series(pd.NA, index=all_rows.index, dtype="string")
    return all_rows, all_bad, len(files)


def ingest_partition(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    spec: SourceSpec,
    day: date,
    now: datetime | None = None,
    max_future_days: int = 1,
) -> PartitionCounts:
    """Replace the day's rows of raw.<kind> and quarantine.<kind> in one transaction.

    Rows are validated in DuckDB (see validate.py); malformed records found while reading are
    quarantined too. A file that cannot be read raises before anything is written."""
    ensure_tables(con, spec)
    rows, malformed, n_files = _read_partition(landing, spec, day)
    now = now or datetime.utcnow()
    future_limit = min(datetime.combine(day, datetime.min.time()) + timedelta(days=1 + max_future_days), now)
    _check_rows(con, spec, rows, future_limit)
    accepted, rejected, duplicates = con.execute(
        "SELECT count(*) FILTER (WHERE _reason IS NULL AND _dup_rank = 1), count(*) FILTER (WHERE _reason IS NOT NULL), "
        "count(*) FILTER (WHERE _reason IS NULL AND _dup_rank > 1) FROM checked_rows"
    ).fetchall()[0]
    counts = PartitionCounts(
        spec.kind, day, n_files, len(rows) + len(malformed), accepted, rejected + len(malformed), duplicates
    )
    con.execute("BEGIN TRANSACTION")
    try:
        _replace_partition(con, spec, day, now, malformed)
        con.execute(
            "INSERT INTO raw.ingest_log (kind, partition_date, files, read, accepted, rejected, duplicates, ingested_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [spec.kind, day, n_files, counts.read, counts.accepted, counts.rejected, counts.duplicates, now],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS checked_rows")
    return counts


def _check_rows(con: duckdb.DuckDBPyConnection, spec: SourceSpec, rows: pd.DataFrame, future_limit: datetime) -> None:
    """Validate the day's rows into the temp table checked_rows (_reason NULL = accepted, _dup_rank > 1 = duplicate)."""
    con.execute("SET TimeZone = 'UTC'")
    check_users = spec.references_users and users_are_known(con)
    con.register("landed_rows", rows)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE checked_rows AS {validation_sql(spec, 'landed_rows', check_users, with_origin=True)}",
            {"future_limit": future_limit},
        )
    finally:
        con.unregister("landed_rows")


def _replace_partition(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, day: date, now: datetime, malformed: pd.DataFrame
) -> None:
    """Inside the caller's transaction: delete the day's rows of raw.<kind>, quarantine.<kind> and
    raw.ingest_log, then insert the accepted rows of checked_rows into raw.<kind> and the rejected and
    malformed ones into quarantine.<kind>."""
    cols = ", ".join(f'"{c}"' for c in spec.column_names)
    con.execute(f"DELETE FROM raw.{spec.kind} WHERE _partition_date = ?", [day])
    con.execute(f"DELETE FROM quarantine.{spec.kind} WHERE partition_date = ?", [day])
    con.execute("DELETE FROM raw.ingest_log WHERE kind = ? AND partition_date = ?", [spec.kind, day])
    con.execute(
        f"INSERT INTO raw.{spec.kind} ({cols}, _partition_date, _source_file, _source_line, _ingested_at) "
        f"SELECT {cols}, CAST($day AS DATE), _source_file, _line, $now FROM checked_rows "
        "WHERE _reason IS NULL AND _dup_rank = 1 ORDER BY _source_file, _line",
        {"day": day, "now": now},
    )
    con.execute(
        f"INSERT INTO quarantine.{spec.kind} SELECT CAST($day AS DATE), _source_file, _line, _field, _reason, _raw, $now "
        "FROM checked_rows WHERE _reason IS NOT NULL",
        {"day": day, "now": now},
    )
    if len(malformed):
        # a malformed line of a source with free text may hold an e-mail address: masked like the text
        raw = mask_pii_sql("raw") if any(c.pii for c in spec.columns) else "raw"
        con.register("malformed_rows", malformed)
        con.execute(
            f"INSERT INTO quarantine.{spec.kind} SELECT CAST($day AS DATE), {SOURCE_FILE}, {LINE}, NULL, reason, {raw}, $now "
            "FROM malformed_rows",
            {"day": day, "now": now},
        )
        con.unregister("malformed_rows")


def record_cross_day_duplicates(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, counts: list[PartitionCounts]
) -> list[PartitionCounts]:
    """Count, per day from the first of `counts` on, the rows of raw.<kind> whose natural key was already
    ingested on an earlier day; write the counts to raw.ingest_log.cross_day_duplicates and return `counts`
    with theirs. Later days are counted again too: re-ingesting a day can change what is new on them.
    One set-based query per run (not per partition), so a backfill of many days scans raw.<kind> once."""
    if not counts:
        return counts
    first = min(c.partition_date for c in counts)
    same_key = " AND ".join(f'e."{k}" IS NOT DISTINCT FROM n."{k}"' for k in spec.natural_key)
    params = {"first": first, "kind": spec.kind}
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE cross_day AS SELECT n._partition_date AS day, count(*) AS n FROM raw.{spec.kind} AS n "
        f"WHERE n._partition_date >= $first AND EXISTS (SELECT 1 FROM raw.{spec.kind} AS e "
        f"WHERE e._partition_date < n._partition_date AND {same_key}) GROUP BY 1",
        {"first": first},
    )
    by_day = dict(con.execute("SELECT day, n FROM cross_day").fetchall())
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "UPDATE raw.ingest_log SET cross_day_duplicates = 0 WHERE kind = $kind AND partition_date >= $first", params
        )
        con.execute(
            "UPDATE raw.ingest_log AS log SET cross_day_duplicates = c.n FROM cross_day AS c "
            "WHERE log.kind = $kind AND log.partition_date = c.day",
            {"kind": spec.kind},
        )
        con.execute("DROP TABLE cross_day")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return [replace(c, cross_day_duplicates=by_day.get(c.partition_date, 0)) for c in counts]
