"""Time simulate + ingest + SQL features at scale (default 1,000,000 users) and report peak memory.

    .venv/bin/python bench/bench_pipeline_scale.py --users 1000000 --days 60

Prints wall time per stage, rows produced and the process's peak RSS; the reference run in the same
process is a 20,000-user shop of the same length, so the ratio shows how the stages scale.
Figures go to BENCHMARKS.md (not asserted anywhere).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

from churn_assets.defs.resources import PipelineSettings
from churn_assets.ingest.landing_files import landing_days
from churn_assets.ingest.store import ensure_tables, ingest_partition
from churn_assets.simulate import ShopConfig, simulate_shop
from churn_assets.warehouse.contract import INGEST_ORDER, SOURCES
from churn_assets.warehouse.sql_project import load_models, run_model, topo_order
from churn_assets.warehouse.tables import ensure_review_negativity


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run(users: int, days: int, base: Path, truth_every: int) -> dict:
    times = {}
    started = time.monotonic()
    simulate_shop(base, ShopConfig(n_users=users, n_days=days, truth_every_days=truth_every))
    times["simulate_s"] = time.monotonic() - started

    started = time.monotonic()
    landing = base / "landing"
    con = duckdb.connect(str(base / "churn.duckdb"))
    for spec in SOURCES.values():
        ensure_tables(con, spec)
    all_days = landing_days(landing)
    for kind in INGEST_ORDER:
        day = all_days[0]
        while day <= all_days[-1]:
            ingest_partition(con, landing, SOURCES[kind], day)
            day += timedelta(days=1)
    times["ingest_s"] = time.monotonic() - started
    rows = {k: con.execute(f"SELECT count(*) FROM raw.{k}").fetchone()[0] for k in SOURCES}

    started = time.monotonic()
    ensure_review_negativity(con)
    params = PipelineSettings().sql_params()
    models = load_models()
    for model in topo_order(models):
        n = run_model(con, model, params)
        if model.key == "marts.user_features":
            rows["user_features"] = n
    times["features_s"] = time.monotonic() - started
    con.close()
    return {
        "users": users,
        "days": days,
        **times,
        "total_s": sum(times.values()),
        **rows,
        "peak_rss_gib": peak_rss_gib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--reference-users", type=int, default=20_000)
    parser.add_argument("--truth-every", type=int, default=7, help="write ground truth every k days")
    parser.add_argument("--keep", action="store_true", help="keep the generated data directory")
    args = parser.parse_args()
    results = []
    for users in (args.reference_users, args.users):
        base = Path(tempfile.mkdtemp(prefix=f"churn_bench_{users}_"))
        try:
            result = run(users, args.days, base, args.truth_every)
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
        results.append(result)
        print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()), flush=True)
    ref, big = results
    scale = big["users"] / ref["users"]
    for stage in ("simulate_s", "ingest_s", "features_s", "total_s"):
        print(
            f"{stage}: {big[stage]:.1f}s vs reference {ref[stage]:.1f}s = {big[stage] / max(ref[stage], 1e-9):.1f}x for {scale:.0f}x users"
        )
    print(f"peak RSS (whole process): {big['peak_rss_gib']:.2f} GiB")


if __name__ == "__main__":
    main()
