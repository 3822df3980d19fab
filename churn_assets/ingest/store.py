"""Write one (source, day) partition into raw.<kind> and quarantine.<kind>, atomically."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from churn_assets.contract import SourceSpec
from churn_assets.ingest.read_files import LINE, partition_files, read_landing_file
from churn_assets.ingest.validate import validate_rows

SOURCE_FILE = "_source_file"
SQL_TYPES = {"str": "VARCHAR", "category": "VARCHAR", "timestamp": "TIMESTAMP", "float": "DOUBLE", "int": "BIGINT"}


@dataclass
class PartitionCounts:
    kind: str
    partition_date: date
    files: int
    read: int
    accepted: int
    rejected: int
    duplicates: int

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


def known_user_ids(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """User ids seen so far, or None when the shop provides no users source (then ids are not checked)."""
    n = con.execute("SELECT count(*) FROM raw.users").fetchone()[0]
    if n == 0:
        return None
    return {r[0] for r in con.execute("SELECT DISTINCT user_id FROM raw.users").fetchall()}


def _read_partition(landing: Path, spec: SourceSpec, day: date) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    files = partition_files(landing, spec.kind, day)
    rows, malformed = [], []
    for path in files:
        got = read_landing_file(path, spec)
        rows.append(got.rows.assign(**{SOURCE_FILE: str(path)}))
        malformed.append(got.malformed.assign(**{SOURCE_FILE: str(path)}, field=pd.Series(pd.NA, index=got.malformed.index, dtype="string")))
    all_rows = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=[*spec.column_names, LINE, SOURCE_FILE])
    all_bad = pd.concat(malformed, ignore_index=True) if malformed else pd.DataFrame(columns=[LINE, SOURCE_FILE, "field", "reason", "raw"])
    return all_rows, all_bad, len(files)


def ingest_partition(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    spec: SourceSpec,
    day: date,
    known_users: set[str] | None = None,
    now: datetime | None = None,
) -> PartitionCounts:
    """Replace the day's rows of raw.<kind> and quarantine.<kind> in one transaction."""
    ensure_tables(con, spec)
    rows, malformed, n_files = _read_partition(landing, spec, day)
    checked = validate_rows(rows, spec, day, known_users=known_users, now=now)
    parts = [f for f in (malformed, checked.rejected) if len(f)]
    rejected = pd.concat(parts, ignore_index=True) if parts else checked.rejected
    ingested_at = pd.Timestamp(datetime.utcnow())

    accepted = checked.accepted.rename(columns={LINE: "_source_line"})
    accepted["_partition_date"] = pd.Timestamp(day).date()
    accepted["_ingested_at"] = ingested_at
    quarantined = pd.DataFrame(
        {
            "partition_date": pd.Timestamp(day).date(),
            "source_file": rejected[SOURCE_FILE].astype("string"),
            "line": rejected[LINE].astype("int64"),
            "field": rejected["field"].astype("string"),
            "reason": rejected["reason"].astype("string"),
            "raw": rejected["raw"].astype("string"),
            "ingested_at": ingested_at,
        }
    )
    counts = PartitionCounts(
        spec.kind, day, n_files, len(rows) + len(malformed), len(accepted), len(quarantined), checked.duplicates
    )
    raw_cols = ", ".join(f'"{c}"' for c in [*spec.column_names, "_partition_date", "_source_file", "_source_line", "_ingested_at"])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM raw.{spec.kind} WHERE _partition_date = ?", [day])
        con.execute(f"DELETE FROM quarantine.{spec.kind} WHERE partition_date = ?", [day])
        con.execute("DELETE FROM raw.ingest_log WHERE kind = ? AND partition_date = ?", [spec.kind, day])
        if len(accepted):
            con.register("accepted_rows", accepted)
            con.execute(f"INSERT INTO raw.{spec.kind} ({raw_cols}) SELECT {raw_cols} FROM accepted_rows")
            con.unregister("accepted_rows")
        if len(quarantined):
            con.register("quarantined_rows", quarantined)
            con.execute(f"INSERT INTO quarantine.{spec.kind} SELECT * FROM quarantined_rows")
            con.unregister("quarantined_rows")
        log = asdict(counts)
        con.execute(
            "INSERT INTO raw.ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [log["kind"], day, log["files"], log["read"], log["accepted"], log["rejected"], log["duplicates"], ingested_at],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts
