"""`make run`: simulate the default shop (once), then run every job on it and print a summary."""

from __future__ import annotations

import argparse
import time

from churn_assets import paths
from churn_assets.instance import get_instance
from churn_assets.pipeline import landing_days, ingest_range, run_job
from churn_assets.recovery import exclusive_data_dir
from churn_assets.summary import print_results, print_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=None, help="simulated users (default: the simulator's default)")
    parser.add_argument("--days", type=int, default=None, help="simulated days")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    started = time.monotonic()
    base = paths.data_dir()
    landing = paths.landing_dir(base)
    print(f"[churn] data directory: {base}")
    if not landing_days(landing):
        from churn_assets.simulate import ShopConfig, simulate_shop

        overrides = {k: v for k, v in (("n_users", args.users), ("n_days", args.days), ("seed", args.seed)) if v is not None}
        print(f"[churn] no landing files: simulating the default shop into {base} {overrides or ''}")
        summary = simulate_shop(base, ShopConfig(**overrides))
        print(f"[churn] simulated: {summary.get('rows', summary)}")
    days = landing_days(landing)
    from churn_assets.definitions import defs

    instance = get_instance()
    today = days[-1].isoformat()
    with exclusive_data_dir(base, "make run", print):  # no other run between these jobs
        ingest_range(defs, instance, days[0], days[-1])
        run_job(defs, "build_job", instance)
        print_summary(paths.duckdb_path(base))
        run_job(defs, "train_job", instance)
        run_job(defs, "score_job", instance, tags={"dagster/partition": today})
        print_results(paths.duckdb_path(base), today)
    print(f"[churn] done in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
