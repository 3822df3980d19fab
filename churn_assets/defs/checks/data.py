"""Data checks on the raw tables, per daily partition: keys, value ranges, count reconciliation, freshness.

The checks share the ingest assets' daily partitions (Dagster 1.13 preview feature): a run of one
partition records the result on that partition; a single-run range backfill runs each check once over
every day of the range and records one result for the run (Dagster records partitioned check results
only for single-partition steps). Conditions come from the contract (our column names and ranges);
days and limits are bound parameters.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd
from pydantic import Field

from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse
from churn_assets.ingest.validate import EARLIEST, bound_text
from churn_assets.warehouse.contract import INGEST_ORDER, SOURCES, SourceSpec

NO_EARLIEST_BOUND = {"signup_ts"}  # accounts may be years older than the shop's first data day
MAX_LISTED = 10  # failing partitions listed in the metadata


class TimestampWindowConfig(dg.Config):
    max_late_days: int = Field(
        default=30, description="a row's timestamp may lie this many days before its partition day (late arrivals)"
    )
    max_future_days: int = Field(default=1, description="... and this many days after it (the ingestion's own limit)")


class FreshnessConfig(dg.Config):
    max_lag_hours: float = Field(default=48.0, description="newest order at most this old")
    reference: str = Field(
        default="now",
        description="'now': the newest order against the clock; 'newest_partition': against the end of the newest "
        "ingested partition (data that stops early inside its day; use it for a shop simulated in the past)",
    )


def run_days(context: dg.AssetCheckExecutionContext) -> tuple[date, date]:
    """First and last day of the partitions this run checks (one day, or a single-run range)."""
    keys = context.op_execution_context.partition_keys
    return date.fromisoformat(min(keys)), date.fromisoformat(max(keys))


def key_columns(spec: SourceSpec) -> list[str]:
    """Required columns of the natural key, and the user id."""
    cols = [c for c in spec.natural_key if spec.column(c).required]
    if "user_id" in spec.column_names and "user_id" not in cols:
        cols.append("user_id")
    return cols


def range_conditions(spec: SourceSpec) -> dict[str, str]:
    """Violation label -> SQL condition on a raw row, from the contract (binds $late_days, $future_days)."""
    out = {}
    for col in spec.columns:
        c = f'"{col.name}"'
        if col.min_value is not None:
            out[f"{col.name} below {bound_text(col.min_value)}"] = f"{c} < {float(col.min_value)}"
        if col.max_value is not None:
            out[f"{col.name} above {bound_text(col.max_value)}"] = f"{c} > {float(col.max_value)}"
        if col.allowed:
            allowed = ", ".join("'" + a + "'" for a in col.allowed)
            out[f"{col.name} not allowed"] = f"{c} NOT IN ({allowed})"
        if col.kind == "timestamp":
            out[f"{col.name} after its day"] = f"{c} >= _partition_date + to_days(CAST(1 + $future_days AS INTEGER))"
            if col.name in NO_EARLIEST_BOUND:
                out[f"{col.name} before {EARLIEST}"] = f"{c} < TIMESTAMP '{EARLIEST}'"
            else:
                out[f"{col.name} before its day"] = f"{c} < _partition_date - to_days(CAST($late_days AS INTEGER))"
    return out


def _count_violations(
    con, spec: SourceSpec, conditions: dict[str, str], first: date, last: date, params: dict
) -> tuple[int, dict[str, int]]:
    counts = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in conditions.values())
    row = con.execute(
        f"SELECT count(*){', ' + counts if counts else ''} FROM raw.{spec.kind} WHERE _partition_date BETWEEN $first AND $last",
        {"first": first, "last": last, **params},
    ).fetchall()[0]
    return int(row[0]), {label: int(n) for label, n in zip(conditions, row[1:], strict=False)}


def _keys_check(spec: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    keys = key_columns(spec)
    natural = ", ".join(f'"{c}"' for c in spec.natural_key)

    @dg.asset_check(
        asset=dg.AssetKey(["raw", spec.kind]),
        name="keys_not_null_and_unique",
        partitions_def=partitions,
        pool=DUCKDB_POOL,
        description=f"raw.{spec.kind}: no row lacks {', '.join(keys)}; no natural key "
        f"({', '.join(spec.natural_key)}) twice in one partition.",
    )
    def keys_check(context: dg.AssetCheckExecutionContext, duckdb: DuckDBWarehouse) -> dg.AssetCheckResult:
        first, last = run_days(context)
        conditions = {f"{c} is null": f'"{c}" IS NULL' for c in keys}
        with duckdb.connect(read_only=True) as con:
            rows, nulls = _count_violations(con, spec, conditions, first, last, {})
            duplicates = con.execute(
                f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM raw.{spec.kind} "
                f"WHERE _partition_date BETWEEN $first AND $last GROUP BY _partition_date, {natural} HAVING n > 1)",
                {"first": first, "last": last},
            ).fetchall()[0][0]
        return dg.AssetCheckResult(
            passed=sum(nulls.values()) == 0 and duplicates == 0,
            metadata={"days": f"{first}..{last}", "rows": rows, **nulls, "duplicate keys": int(duplicates)},
        )

    return keys_check


def _range_check(spec: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", spec.kind]),
        name="values_in_range",
        partitions_def=partitions,
        pool=DUCKDB_POOL,
        description=f"raw.{spec.kind}: numbers within the contract's ranges, categories allowed, timestamps inside "
        "the partition's day (allowing max_late_days of late arrivals before it, max_future_days after it).",
    )
    def range_check(
        context: dg.AssetCheckExecutionContext, config: TimestampWindowConfig, duckdb: DuckDBWarehouse
    ) -> dg.AssetCheckResult:
        first, last = run_days(context)
        conditions = range_conditions(spec)
        params = {
            k: v
            for k, v in (("late_days", config.max_late_days), ("future_days", config.max_future_days))
            if any(f"${k}" in c for c in conditions.values())
        }
        with duckdb.connect(read_only=True) as con:
            rows, violations = _count_violations(con, spec, conditions, first, last, params)
        return dg.AssetCheckResult(
            passed=sum(violations.values()) == 0,
            metadata={"days": f"{first}..{last}", "rows": rows, **violations},
        )

    return range_check


def _counts_per_day(con, kind: str, first: date, last: date) -> pd.DataFrame:
    """Per day of the range: the ingest log's counts (NULL when never ingested), raw rows and quarantined rows."""
    return con.execute(
        f"""
        WITH days AS (SELECT CAST(d AS DATE) AS day FROM range($first, $last + INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(d)),
        raw AS (SELECT _partition_date AS day, count(*) AS n FROM raw.{kind}
                WHERE _partition_date BETWEEN $first AND $last GROUP BY 1),
        q AS (SELECT partition_date AS day, count(*) AS n FROM quarantine.{kind}
              WHERE partition_date BETWEEN $first AND $last GROUP BY 1)
        SELECT days.day, log.read, log.accepted, log.rejected, log.duplicates,
               coalesce(raw.n, 0) AS raw_rows, coalesce(q.n, 0) AS quarantined_rows
        FROM days
        LEFT JOIN raw.ingest_log AS log ON log.kind = $kind AND log.partition_date = days.day
        LEFT JOIN raw USING (day) LEFT JOIN q USING (day)
        ORDER BY days.day
        """,
        {"first": first, "last": last, "kind": kind},
    ).df()


def _reconcile_check(spec: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", spec.kind]),
        name="counts_reconcile",
        partitions_def=partitions,
        pool=DUCKDB_POOL,
        description=f"Every checked day has a raw.ingest_log row for {spec.kind} with read = accepted + rejected + "
        f"duplicates, accepted = its rows in raw.{spec.kind}, rejected = its rows in quarantine.{spec.kind}.",
    )
    def reconcile_check(context: dg.AssetCheckExecutionContext, duckdb: DuckDBWarehouse) -> dg.AssetCheckResult:
        first, last = run_days(context)
        with duckdb.connect(read_only=True) as con:
            per_day = _counts_per_day(con, spec.kind, first, last)
        logged = per_day["read"].notna()
        ok = (
            logged
            & (per_day["read"] == per_day["accepted"] + per_day["rejected"] + per_day["duplicates"])
            & (per_day["accepted"] == per_day["raw_rows"])
            & (per_day["rejected"] == per_day["quarantined_rows"])
        )
        bad = per_day[~ok]
        metadata = {
            "days": f"{first}..{last}",
            "partitions": len(per_day),
            "not ingested": int((~logged).sum()),
            "not reconciling": int((logged & ~ok).sum()),
            **{k: int(per_day[k].fillna(0).sum()) for k in ("read", "accepted", "rejected", "duplicates")},
        }
        if len(bad):
            metadata["failing days"] = dg.MetadataValue.md(bad.head(MAX_LISTED).to_markdown(index=False))
        return dg.AssetCheckResult(passed=bool(ok.all()), metadata=metadata)

    return reconcile_check


@dg.asset_check(
    asset=dg.AssetKey(["raw", "orders"]),
    name="orders_fresh",
    pool=DUCKDB_POOL,
    description="How old the newest accepted order is: against the clock (reference 'now') or against the end of the "
    "newest ingested partition ('newest_partition'); fails (warning) above max_lag_hours.",
)
def orders_freshness(
    context: dg.AssetCheckExecutionContext, config: FreshnessConfig, duckdb: DuckDBWarehouse
) -> dg.AssetCheckResult:
    if config.reference not in ("now", "newest_partition"):
        raise ValueError(f"orders_fresh: reference must be 'now' or 'newest_partition', not {config.reference!r}")
    with duckdb.connect(read_only=True) as con:
        newest_ts, newest_day = con.execute("SELECT max(ts), max(_partition_date) FROM raw.orders").fetchall()[0]
    if newest_ts is None:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN, description="raw.orders is empty")
    now = datetime.now(UTC).replace(tzinfo=None)
    partition_end = datetime.combine(newest_day, datetime.min.time()) + timedelta(days=1)
    lag_now = (now - newest_ts).total_seconds() / 3600
    lag_partition = (partition_end - newest_ts).total_seconds() / 3600
    lag = lag_now if config.reference == "now" else lag_partition
    return dg.AssetCheckResult(
        passed=lag <= config.max_lag_hours,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "newest order": str(newest_ts),
            "newest partition": str(newest_day),
            "lag vs now (hours)": round(lag_now, 1),
            "lag vs end of newest partition (hours)": round(lag_partition, 1),
            "reference": config.reference,
            "max lag (hours)": config.max_lag_hours,
        },
    )


def build_data_checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    """Per raw table and daily partition: keys, value ranges, reconciling counts; plus the orders' freshness."""
    per_kind = [
        build(SOURCES[kind], partitions)
        for kind in INGEST_ORDER
        for build in (_keys_check, _range_check, _reconcile_check)
    ]
    return [*per_kind, orders_freshness]
