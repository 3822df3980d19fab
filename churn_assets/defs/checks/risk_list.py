"""Checks on the daily risk list: every active user exactly once; tier shares within configured bounds."""

from datetime import date

import dagster as dg
from pydantic import Field

from churn_assets.defs.resources import DUCKDB_POOL, DuckDBWarehouse, PipelineSettings
from churn_assets.ml.tiers import TIERS
from churn_assets.warehouse.scoring_features import active_users_at

RISK_LIST = dg.AssetKey(["scoring", "risk_list"])


class TierShareConfig(dg.Config):
    # loose on purpose: the default shop's probability tiers are about 12% high, 38% medium, 50% low, and
    # small shops' calibrated probabilities bunch up in the medium tier; they catch a degenerate list
    high: list[float] = Field(default=[0.0, 0.5], description="[min, max] share of users in the high tier")
    medium: list[float] = Field(default=[0.0, 0.9], description="[min, max] share in the medium tier")
    low: list[float] = Field(default=[0.05, 1.0], description="[min, max] share in the low tier")

    def bounds(self) -> dict[str, tuple[float, float]]:
        out = {}
        for tier in TIERS:
            lo, hi = getattr(self, tier)
            out[tier] = (float(lo), float(hi))
        return out


def risk_list_days(context: dg.AssetCheckExecutionContext) -> list[date]:
    return [date.fromisoformat(k) for k in context.op_execution_context.partition_keys]


def every_active_user_once(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBWarehouse, settings: PipelineSettings
) -> dg.AssetCheckResult:
    """The day's risk list holds each user in scope at that day (intermediate/active_users.sql with the pipeline
    settings) exactly once: none missing, none extra, none twice."""
    totals = {"active users": 0, "listed rows": 0, "missing": 0, "not active": 0, "listed twice": 0}
    failing = []
    with duckdb.connect() as con:  # read-write: the active users are computed in a scratch in-memory catalog
        for day in risk_list_days(context):
            active = set(active_users_at(con, day, settings.sql_params()))
            listed = [
                r[0]
                for r in con.execute(
                    "SELECT user_id FROM scoring.risk_list WHERE as_of_date = $day", {"day": day}
                ).fetchall()
            ]
            got = {
                "active users": len(active),
                "listed rows": len(listed),
                "missing": len(active - set(listed)),
                "not active": len(set(listed) - active),
                "listed twice": len(listed) - len(set(listed)),
            }
            totals = {k: totals[k] + got[k] for k in totals}
            if got["missing"] or got["not active"] or got["listed twice"] or not listed:
                failing.append(str(day))
    return dg.AssetCheckResult(
        passed=not failing,
        metadata={**totals, "failing days": ", ".join(failing[:10]) or "none"},
    )


def tier_shares_within_bounds(
    context: dg.AssetCheckExecutionContext, config: TierShareConfig, duckdb: DuckDBWarehouse
) -> dg.AssetCheckResult:
    """Share of the day's users in each tier within [min, max] from the check's config (defaults: high 0-50%,
    medium 0-90%, low 5-100%); a warning when outside."""
    days = risk_list_days(context)
    with duckdb.connect(read_only=True) as con:
        counts = dict(
            con.execute(
                "SELECT tier, count(*) FROM scoring.risk_list WHERE as_of_date BETWEEN $first AND $last GROUP BY tier",
                {"first": min(days), "last": max(days)},
            ).fetchall()
        )
    n = sum(counts.values())
    shares = {t: (counts.get(t, 0) / n if n else 0.0) for t in TIERS}
    outside = [t for t, (lo, hi) in config.bounds().items() if not lo <= shares[t] <= hi]
    return dg.AssetCheckResult(
        passed=n > 0 and not outside,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "users": n,
            **{f"{t} share": round(shares[t], 4) for t in TIERS},
            "bounds": dg.MetadataValue.json({t: list(b) for t, b in config.bounds().items()}),
            "outside bounds": ", ".join(outside) or "none",
        },
    )


risk_list_checks = [every_active_user_once, tier_shares_within_bounds]


def build_risk_list_checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    """The checks above on scoring/risk_list, each named after its function and described by its docstring: checked
    per daily partition like the list, holding a slot of the DuckDB pool."""
    return [
        dg.asset_check(
            asset=RISK_LIST,
            partitions_def=partitions,
            pool=DUCKDB_POOL,
            description=" ".join((fn.__doc__ or "").split()),
        )(fn)
        for fn in (every_active_user_once, tier_shares_within_bounds)
    ]
