"""The shop's data directory as `churn run` and `churn score` use it: prepare its landing files from an export,
check that its landing days cover the as-of date (and, for training, give enough history), and pick the landing
days and kinds still to ingest up to the as-of date.

Nothing here runs a Dagster job: app/cli.py does that with what these functions return.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path


class DataDirError(Exception):
    """A problem with the data directory or its files that the user can fix: a message plus its cause."""

    def __init__(self, message: str, cause: str | None = None):
        super().__init__(message)
        self.cause = cause


def resolve_data_dir(data_dir: Path) -> Path:
    """The data directory as an absolute path; it must exist."""
    base = data_dir.expanduser().resolve()
    if not base.is_dir():
        raise DataDirError(
            f"data directory {data_dir} does not exist", "create it, or point --data-dir at the shop's files"
        )
    return base


def latest_day(base: Path) -> date:
    """The newest day with orders files: what `--as-of latest` means."""
    days = _days_with_files(base / "landing", ("orders",))
    if not days:
        raise DataDirError(
            f"no orders files in {base / 'landing' / 'orders'}",
            "expected landing/orders/YYYY-MM-DD.csv|jsonl|parquet, or an export to prepare with --source / --mapping",
        )
    return days[-1]


def _days_with_files(landing: Path, kinds: Sequence[str]) -> list[date]:
    from churn_assets.ingest.landing_files import landing_days  # imported late: `churn --help` stays quick

    return landing_days(landing, kinds)


# --------------------------------------------------------------------------------------------------
# preparing landing files from an export


def prepare_landing_files(
    base: Path, as_of: date | None, source: str | None, mapping: Path | None, log: Callable[[str], None]
) -> None:
    """Convert an export into landing files (churn_assets.sources), unless the landing layout is already there;
    up to the as-of date (None: every day of the export)."""
    landing = base / "landing"
    if source is None and mapping is None and _days_with_files(landing, ("orders",)):
        return
    try:
        from churn_assets.sources import SourceError, prepare_landing
    except ImportError as exc:  # the adapters are an optional part of the package
        raise DataDirError("cannot prepare landing files: churn_assets.sources is not available", str(exc)) from exc
    if mapping is not None and not mapping.is_file():
        raise DataDirError(f"mapping file {mapping} does not exist")
    log(
        f"step: preparing landing files from {base} ("
        + (f"mapping {mapping}" if mapping else f"source {source or 'auto'}")
        + ")"
    )
    try:
        report = prepare_landing(base, landing, source=source, mapping=mapping, until=as_of)
    except SourceError as exc:
        raise DataDirError("the input cannot be used", str(exc)) from exc
    except NotImplementedError as exc:
        raise DataDirError("preparing landing files is not available yet", str(exc)) from exc
    print(report.summary(), flush=True)


def _prepared_until(landing: Path) -> tuple[date | None, bool]:
    """The `until` of the last preparation from an export (landing/_prepared.json), and whether the export
    had rows after it."""
    manifest = landing / "_prepared.json"
    try:
        report = json.loads(manifest.read_text())["report"]
        until = date.fromisoformat(report["until"]) if report.get("until") else None
        beyond = any(k.get("rows_after_until", 0) > 0 for k in report.get("kinds", {}).values())
        return until, beyond
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, False


# --------------------------------------------------------------------------------------------------
# the span of landing days up to the as-of date


@dataclass
class DataSpan:
    first: date  # first day with any landing file
    first_activity: date  # first day with orders or events (the data window starts there)
    days: list[date]  # landing days on or before the as-of date


def check_span(base: Path, as_of: date) -> DataSpan:
    """The landing days up to the as-of date; refuses an as-of date the files do not cover."""
    from churn_assets.warehouse.contract import SOURCES

    landing = base / "landing"
    every = _days_with_files(landing, list(SOURCES))
    if not every:
        raise DataDirError(
            f"no landing files in {landing}",
            "expected landing/orders/YYYY-MM-DD.csv|jsonl|parquet, or an export to prepare with --source / --mapping",
        )
    orders = [d for d in _days_with_files(landing, ("orders",)) if d <= as_of]
    if not orders:
        raise DataDirError(
            f"no orders on or before {as_of}",
            f"orders files in {landing / 'orders'} start on "
            f"{min(_days_with_files(landing, ('orders',)), default='(none)')}",
        )
    today = date.today()
    if as_of > today:
        raise DataDirError(f"as-of date {as_of} is in the future", f"today is {today}")
    until, beyond = _prepared_until(landing)
    # an export prepared up to `until` that has rows after it covers every day up to `until`, quiet days too
    covered = max(every[-1], until) if until and beyond else every[-1]
    if as_of > covered:
        raise DataDirError(
            f"as-of date {as_of} is after the last day of data ({covered})",
            f"the landing files were prepared from your export up to {until}: pass --mapping / --source again "
            f"to prepare them up to {as_of}"
            if until and until < as_of
            else "days without files would count as days without orders; pick a day the data covers",
        )
    activity = _days_with_files(landing, ("orders", "events"))
    return DataSpan(every[0], activity[0], [d for d in every if d <= as_of])


def min_days_for_training(horizon: int, step: int, min_history: int, n_test: int, n_valid: int, embargo: bool) -> int:
    """The fewest days of data (first day .. as-of date, inclusive) that give a train / valid / test split:
    the same as-of grid as intermediate/as_of_dates.sql and the same rule as ml.splits.time_split."""
    from churn_assets.ml.splits import time_split

    for span in range(min_history + horizon + 1, 20_000):
        last = span - 1  # day numbers 0 .. last
        grid = [last - k * step for k in range(0, last // step + 1) if last - k * step >= min_history]
        labelled = [date.fromordinal(1 + d) for d in grid if d + horizon <= last]
        try:
            time_split(labelled, horizon, n_test, n_valid, embargo)
            return span
        except ValueError:
            continue
    raise ValueError("no span of data is long enough for these settings")


def check_training_history(span: DataSpan, as_of: date, horizon_days: int | None, as_of_step_days: int | None) -> None:
    """Refuse, before anything runs, a span too short to give a train / valid / test split (None = the
    pipeline's default setting)."""
    from churn_assets.defs.resources import PipelineSettings

    defaults = PipelineSettings.model_fields
    horizon = horizon_days or defaults["horizon_days"].default
    step = as_of_step_days or defaults["as_of_step_days"].default
    need = min_days_for_training(
        horizon,
        step,
        defaults["min_history_days"].default,
        defaults["n_test_dates"].default,
        defaults["n_valid_dates"].default,
        defaults["embargo"].default,
    )
    have = (as_of - span.first_activity).days + 1
    if have < need:
        raise DataDirError(
            f"too little history to train: {have} days of orders/events up to {as_of}, at least {need} needed",
            f"with horizon {horizon} days and as-of dates every {step} days; use an as-of date on or after "
            f"{span.first_activity + timedelta(days=need - 1)}, or a shorter --horizon-days",
        )


# --------------------------------------------------------------------------------------------------
# what is still to ingest


@dataclass
class IngestPlan:
    kinds: list[str]  # kinds to ingest, in the contract's ingestion order
    days: list[date]  # landing days (up to the as-of date) that are new or changed since their ingestion


def _ingest_log(base: Path) -> dict[tuple[str, date], tuple[int, datetime]]:
    """(kind, day) -> (files, ingested_at) of earlier ingestions (raw.ingest_log), empty for a new warehouse."""
    from churn_assets.warehouse.connection import connect_duckdb

    db = base / "churn.duckdb"
    if not db.exists():
        return {}
    with connect_duckdb(db, read_only=True) as con:  # waits while another process writes the file
        if not con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = 'ingest_log'"
        ).fetchall()[0][0]:
            return {}
        rows = con.execute("SELECT kind, partition_date, files, ingested_at FROM raw.ingest_log").fetchall()
    return {(kind, day): (files, at) for kind, day, files, at in rows}


def kinds_to_ingest(base: Path, days: Sequence[date], logged: dict) -> list[str]:
    """Kinds with landing files on these days, or with files ingested before (so that removed files are
    noticed). A source the shop does not provide is not ingested day by day: its raw table stays empty."""
    from churn_assets.warehouse.contract import INGEST_ORDER

    present = {k for k in INGEST_ORDER if any(d <= days[-1] for d in _days_with_files(base / "landing", (k,)))}
    before = {kind for (kind, _), (files, _) in logged.items() if files > 0}
    return [k for k in INGEST_ORDER if k in present | before]


def stale_days(base: Path, days: Sequence[date], kinds: Sequence[str], logged: dict) -> list[date]:
    """Days whose landing files changed since they were ingested (or were never ingested): a kind's file
    count differs from raw.ingest_log's, or a file is newer than the partition's ingestion."""
    from churn_assets.ingest.landing_files import partition_files

    stale = []
    for day in days:
        for kind in kinds:
            files = partition_files(base / "landing", kind, day)
            entry = logged.get((kind, day))
            newest = max(
                (datetime.fromtimestamp(f.stat().st_mtime, UTC).replace(tzinfo=None) for f in files), default=None
            )
            if entry is None or entry[0] != len(files) or (newest is not None and newest >= entry[1]):
                stale.append(day)
                break
    return stale


def ingest_plan(base: Path, span: DataSpan) -> IngestPlan:
    """The kinds and days to ingest so that raw.* matches the landing files up to the as-of date; re-running
    on unchanged files gives no days."""
    logged = _ingest_log(base)
    kinds = kinds_to_ingest(base, span.days, logged)
    return IngestPlan(kinds, stale_days(base, span.days, kinds, logged))


def check_orders_accepted(base: Path, as_of: date) -> None:
    """Stop right after ingestion when not one order up to the as-of date was accepted, saying why: the top
    quarantine reasons (else the run would fail later, at training, with no word about the data)."""
    from churn_assets.warehouse.connection import connect_duckdb

    db = base / "churn.duckdb"
    with connect_duckdb(db, read_only=True) as con:
        ((read, accepted),) = con.execute(
            "SELECT COALESCE(sum(read), 0), COALESCE(sum(accepted), 0) FROM raw.ingest_log "
            "WHERE kind = 'orders' AND partition_date <= ?",
            [as_of],
        ).fetchall()
        reasons = con.execute(
            "SELECT reason, count(*) FROM quarantine.orders WHERE partition_date <= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3",
            [as_of],
        ).fetchall()
    if accepted == 0:
        raise DataDirError(
            f"no orders were accepted: {read:,} orders rows read up to {as_of}, all quarantined",
            "top reasons: "
            + "; ".join(f"{reason} ({n:,})" for reason, n in reasons)
            + f"; every rejected row is in quarantine.orders of {db}, with its file, line and field",
        )
