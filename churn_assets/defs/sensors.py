"""Sensors: new landing files -> ingestion; a new champion -> re-scoring; drift -> retraining.

Sensors run in the code-location process while runs write the DuckDB file from theirs. DuckDB allows
one writing process per file and no reader beside it, so a sensor opens the warehouse read-only for a
moment and skips the tick when a run holds the lock; the next tick tries again.
"""

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import duckdb as duckdb_lib

from churn_assets.defs.assets.drift import DRIFT, psi_threshold
from churn_assets.defs.jobs import daily_score_job, ingest_job, retrain_job
from churn_assets.defs.partitions import RANGE_END, RANGE_START
from churn_assets.defs.resources import DataDirectory, DuckDBWarehouse, MlflowTracking
from churn_assets.ingest.landing_files import LandingFile, scan_landing
from churn_assets.warehouse.contract import SOURCES

SETTLE_ENV = "CHURN_LANDING_SETTLE_S"
DEFAULT_SETTLE_S = 60.0
INTERVAL_ENV = "CHURN_SENSOR_INTERVAL_S"
DEFAULT_INTERVAL_S = 30


def _interval() -> int:
    return int(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL_S)


def settle_seconds() -> float:
    return float(os.environ.get(SETTLE_ENV) or DEFAULT_SETTLE_S)


T = TypeVar("T")


def read_or_busy(
    warehouse: DuckDBWarehouse, read: Callable[[duckdb_lib.DuckDBPyConnection], T], default: T, wait_s: float = 1.0
) -> tuple[T, str | None]:
    """(read(con) on a short read-only connection, None); `default` while the warehouse file does not exist yet.
    When a run holds the write lock: (default, why), and the sensor skips the tick; the next tick tries again."""
    if not Path(warehouse.db_path()).exists():
        return default, None
    quick = DuckDBWarehouse(path=warehouse.db_path(), lock_timeout_s=wait_s, threads=1)
    try:
        with quick.connect(read_only=True) as con:
            return read(con), None
    except duckdb_lib.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        return default, f"{warehouse.db_path()} is locked by a writer"


def _has_table(con: duckdb_lib.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
        ).fetchone()[0]
    )


# ---------------------------------------------------------------- landing files -> ingest_job


@dataclass
class LandingCursor:
    """seen: file -> fingerprint already requested for ingestion; pending: file -> fingerprint observed on
    the previous tick while still too fresh to trust."""

    seen: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> "LandingCursor":
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(dict(data.get("seen", {})), dict(data.get("pending", {})))

    def dump(self) -> str:
        return json.dumps({"seen": self.seen, "pending": self.pending}, sort_keys=True, separators=(",", ":"))


def ready_files(
    files: list[LandingFile], cursor: LandingCursor, now_s: float, settle_s: float
) -> tuple[list[LandingFile], dict[str, str]]:
    """Files to ingest now, and the new pending map.

    A file is new when its fingerprint (size, mtime) differs from the one last requested. A new file is
    taken once it has settled: last modified at least `settle_s` ago, or unchanged since the previous tick.
    A file still growing changes its fingerprint on every tick and stays pending."""
    ready, pending = [], {}
    for f in files:
        if cursor.seen.get(f.rel) == f.fingerprint:
            continue
        settled = now_s - f.mtime_ns / 1e9 >= settle_s or cursor.pending.get(f.rel) == f.fingerprint
        if settled:
            ready.append(f)
        else:
            pending[f.rel] = f.fingerprint
    return ready, pending


def contiguous_blocks(days: list[date]) -> list[tuple[date, date]]:
    """Sorted distinct days -> maximal runs of consecutive days, as (first, last)."""
    blocks: list[tuple[date, date]] = []
    for d in sorted(set(days)):
        if blocks and d == blocks[-1][1] + timedelta(days=1):
            blocks[-1] = (blocks[-1][0], d)
        else:
            blocks.append((d, d))
    return blocks


def ingest_requests(files: list[LandingFile], landing: Path) -> list[dg.RunRequest]:
    """One ingest_job run per block of consecutive touched days: exactly the partitions the files touch."""
    run_config = {"ops": {f"raw__{kind}": {"config": {"landing_dir": str(landing)}} for kind in SOURCES}}
    requests = []
    for first, last in contiguous_blocks([f.day for f in files]):
        block = sorted((f for f in files if first <= f.day <= last), key=lambda f: f.rel)
        key = hashlib.sha1("\n".join(f"{f.rel}={f.fingerprint}" for f in block).encode()).hexdigest()[:20]
        tags = {"churn/trigger": "landing_files_sensor", "churn/landing_files": str(len(block))}
        if first == last:
            requests.append(
                dg.RunRequest(
                    run_key=f"landing-{key}", partition_key=first.isoformat(), run_config=run_config, tags=tags
                )
            )
        else:
            tags |= {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}
            requests.append(dg.RunRequest(run_key=f"landing-{key}", run_config=run_config, tags=tags))
    return requests


def ingest_times(con: duckdb_lib.DuckDBPyConnection) -> dict[tuple[str, date], datetime]:
    """(kind, day) -> when raw.ingest_log last ingested that partition."""
    if not _has_table(con, "raw.ingest_log"):
        return {}
    rows = con.execute("SELECT kind, partition_date, ingested_at FROM raw.ingest_log").fetchall()
    return {(kind, day): at for kind, day, at in rows}


def already_ingested(log: dict[tuple[str, date], datetime], files: list[LandingFile]) -> list[LandingFile]:
    """Files whose (kind, day) partition the ingest log shows ingested after the file's last change."""
    done = []
    for f in files:
        ingested_at = log.get((f.rel.split("/")[0], f.day))
        changed = datetime.fromtimestamp(f.mtime_ns / 1e9, tz=UTC).replace(tzinfo=None)
        if ingested_at is not None and ingested_at > changed:
            done.append(f)
    return done


def landing_files_tick(
    context: dg.SensorEvaluationContext,
    duckdb: DuckDBWarehouse,
    data_dir: DataDirectory,
    partitions: dg.PartitionsDefinition,
):
    """New or changed files under <data dir>/landing/<kind>/ start ingest_job for exactly the days they touch (one
    run per block of consecutive days). A file is taken once settled: unchanged since the previous tick or last
    modified CHURN_LANDING_SETTLE_S (default 60) seconds ago; hidden and *.tmp / *.part names are ignored. The
    cursor keeps each file's size and mtime, so a file is ingested again only when it changes."""
    landing = data_dir.landing_dir()
    cursor = LandingCursor.load(context.cursor)
    files = scan_landing(landing)
    ready, pending = ready_files(files, cursor, time.time(), settle_seconds())
    if context.cursor is None and ready:
        # first tick on this instance: files that an earlier run (make run, the UI) ingested are not redone
        log, busy = read_or_busy(duckdb, ingest_times, default={})
        if busy:
            return dg.SkipReason(f"first look at the landing files waits for the warehouse: {busy}")
        done = already_ingested(log, ready)
        cursor.seen |= {f.rel: f.fingerprint for f in done}
        ready = [f for f in ready if f.rel not in cursor.seen]
        if done:
            context.log.info(f"{len(done)} landing files were already ingested before this sensor started")
    outside = [f for f in ready if not partitions.has_partition_key(f.day.isoformat())]
    if outside:
        context.log.warning(f"not ingested, day outside the daily partitions: {[f.rel for f in outside][:10]}")
        ready = [f for f in ready if f not in outside]
    requests = ingest_requests(ready, landing)
    cursor.seen |= {f.rel: f.fingerprint for f in [*ready, *outside]}
    present = {f.rel for f in files}
    cursor.seen = {k: v for k, v in cursor.seen.items() if k in present}  # forget deleted files
    cursor.pending = pending
    if ready:
        days = sorted({f.day.isoformat() for f in ready})
        context.log.info(f"{len(ready)} new or changed landing files touch {len(days)} days: {days[:10]}")
    if pending:
        context.log.info(f"{len(pending)} landing files still settling: {sorted(pending)[:10]}")
    return dg.SensorResult(
        run_requests=requests,
        cursor=cursor.dump(),
        skip_reason=None
        if requests
        else dg.SkipReason(
            f"no settled new landing files ({len(pending)} settling)" if pending else "no new landing files"
        ),
    )


# ---------------------------------------------------------------- champion alias -> daily_score_job


def newest_data_day(con: duckdb_lib.DuckDBPyConnection) -> date | None:
    """The newest day with accepted rows in the warehouse (raw.ingest_log), the latest partition to score."""
    if not _has_table(con, "raw.ingest_log"):
        return None
    return con.execute("SELECT max(partition_date) FROM raw.ingest_log WHERE accepted > 0").fetchone()[0]


def scored_by(con: duckdb_lib.DuckDBPyConnection, day: date, version: str) -> bool:
    if not _has_table(con, "scoring.risk_list"):
        return False
    return bool(
        con.execute(
            "SELECT count(*) FROM scoring.risk_list WHERE as_of_date = ? AND model_version = ?", [day, version]
        ).fetchone()[0]
    )


def champion_alias_sensor(context: dg.SensorEvaluationContext, duckdb: DuckDBWarehouse, mlflow: MlflowTracking):
    """When the MLflow alias churn_model@champion moves to another version, re-score the newest day with data
    (daily_score_job) unless that day's risk list already comes from the new version."""
    mv = mlflow.champion_version()
    if mv is None:
        return dg.SkipReason(f"no model has the alias {mlflow.champion_uri()} yet")
    version = str(mv.version)
    if version == context.cursor:
        return dg.SkipReason(f"champion still version {version}")

    def newest_day_and_whether_scored(con: duckdb_lib.DuckDBPyConnection) -> tuple[date | None, bool]:
        day = newest_data_day(con)
        return day, day is not None and scored_by(con, day, version)

    (day, already), busy = read_or_busy(duckdb, newest_day_and_whether_scored, default=(None, False))
    if busy:
        return dg.SkipReason(f"champion moved to version {version}; warehouse busy, retrying next tick: {busy}")
    if day is None:
        return dg.SensorResult(cursor=version, skip_reason=dg.SkipReason("no ingested data to score"))
    if already:
        context.log.info(f"champion version {version} already scored {day}")
        return dg.SensorResult(cursor=version, skip_reason=dg.SkipReason(f"{day} already scored by version {version}"))
    context.log.info(f"champion moved {context.cursor or '(first look)'} -> version {version}: re-scoring {day}")
    request = dg.RunRequest(
        run_key=f"champion-v{version}-{day}",
        partition_key=day.isoformat(),
        tags={"churn/trigger": "champion_alias_sensor", "churn/champion_version": version},
    )
    return dg.SensorResult(run_requests=[request], cursor=version)


# ---------------------------------------------------------------- drift -> retrain_job


def newest_drift(con: duckdb_lib.DuckDBPyConnection) -> tuple[date, list[tuple]] | None:
    """monitoring.drift rows (kind, column, psi, computed_at) of the newest measured day, largest PSI first."""
    if not _has_table(con, DRIFT):
        return None
    day = con.execute(f"SELECT max(as_of_date) FROM {DRIFT}").fetchone()[0]
    if day is None:
        return None
    rows = con.execute(
        f"SELECT kind, column_name, psi, computed_at FROM {DRIFT} WHERE as_of_date = ? ORDER BY psi DESC", [day]
    ).fetchall()
    return day, rows


def drift_sensor(context: dg.SensorEvaluationContext, duckdb: DuckDBWarehouse):
    """Reads the PSI figures of the newest scored day (monitoring.drift, written by monitoring/drift in
    daily_score_job). When a main feature's or the score's PSI exceeds CHURN_DRIFT_PSI_THRESHOLD (default 0.2) it
    requests retrain_job once for that measurement, with the PSI figures as run tags."""
    found, busy = read_or_busy(duckdb, newest_drift, default=None)
    if busy:
        return dg.SkipReason(f"warehouse busy, retrying next tick: {busy}")
    if found is None:
        return dg.SkipReason("no drift measured yet (monitoring/drift runs in daily_score_job)")
    day, rows = found
    measured = f"{day}@{max(r[3] for r in rows).isoformat()}"
    if measured == context.cursor:
        return dg.SkipReason(f"drift of {day} already evaluated")
    threshold = psi_threshold()
    score_psi = next((r[2] for r in rows if r[0] == "score"), None)
    top_kind, top_column, top_psi, _ = rows[0]
    drifted = [(c, p) for _, c, p, _ in rows if p > threshold]
    figures = ", ".join(f"{c} {p:.3f}" for _, c, p, _ in rows[:6])
    context.log.info(f"PSI of {day} against the training window (threshold {threshold}): {figures}")
    if not drifted:
        calm = dg.SkipReason(f"no PSI above {threshold} on {day} (max {top_psi:.3f})")
        return dg.SensorResult(cursor=measured, skip_reason=calm)
    context.log.warning(f"drift on {day}: {drifted[:6]} above {threshold}; requesting retraining")
    tags = {
        "churn/trigger": "drift_sensor",
        "churn/drift_partition": day.isoformat(),
        "churn/psi_threshold": f"{threshold}",
        "churn/psi_max": f"{top_psi:.4f}",
        "churn/psi_max_column": top_column,
        "churn/psi_score": f"{score_psi:.4f}" if score_psi is not None else "",
        "churn/psi_drifted": ",".join(c for c, _ in drifted)[:200],
    }
    request = dg.RunRequest(run_key=f"drift-{day}", tags=tags)
    return dg.SensorResult(run_requests=[request], cursor=measured)


def _sensor(fn: Callable, job: Any, interval: int, name: str = "") -> dg.SensorDefinition:
    """What every sensor here shares: described by its function's docstring, ticking every CHURN_SENSOR_INTERVAL_S
    seconds, running as soon as the code location loads."""
    return dg.sensor(
        name=name or fn.__name__,
        job=job,
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=" ".join((fn.__doc__ or "").split()),
    )(fn)


def build_sensors(partitions: dg.PartitionsDefinition) -> list[dg.SensorDefinition]:
    """The three sensors; the landing sensor ingests only days inside `partitions`."""
    interval = _interval()

    def landing_files_sensor(context: dg.SensorEvaluationContext, duckdb: DuckDBWarehouse, data_dir: DataDirectory):
        return landing_files_tick(context, duckdb, data_dir, partitions)

    landing_files_sensor.__doc__ = landing_files_tick.__doc__
    return [
        _sensor(landing_files_sensor, ingest_job, interval),
        _sensor(champion_alias_sensor, daily_score_job, interval),
        _sensor(drift_sensor, retrain_job, interval),
    ]
