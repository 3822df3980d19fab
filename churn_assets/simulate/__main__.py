"""python -m churn_assets.simulate --users N --days D --seed S --out DIR [--messy-share X]"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from churn_assets.simulate.config import ShopConfig
from churn_assets.simulate.shop import simulate_shop


def main(argv: list[str] | None = None) -> dict:
    d = ShopConfig()
    p = argparse.ArgumentParser(prog="python -m churn_assets.simulate", description="Simulate the demo shop.")
    p.add_argument("--users", type=int, default=d.n_users)
    p.add_argument("--days", type=int, default=d.n_days)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", type=Path, default=Path("data"))
    p.add_argument("--messy-share", type=float, default=d.messy_share)
    p.add_argument("--start-date", type=date.fromisoformat, default=d.start_date)
    p.add_argument("--horizon-days", type=int, default=d.horizon_days)
    p.add_argument("--truth-every-days", type=int, default=d.truth_every_days)
    a = p.parse_args(argv)
    cfg = ShopConfig(
        n_users=a.users,
        n_days=a.days,
        seed=a.seed,
        messy_share=a.messy_share,
        start_date=a.start_date,
        horizon_days=a.horizon_days,
        truth_every_days=a.truth_every_days,
    )
    summary = simulate_shop(a.out, cfg)
    print(json.dumps(summary, indent=2, default=str))
    return summary


if __name__ == "__main__":
    main()
