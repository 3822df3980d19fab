"""Time the simulator at a given size and report its peak memory.

python bench/bench_simulate.py --users 20000 --days 180
python bench/bench_simulate.py --users 1000000 --days 30 --truth-every-days 7 --keep
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from churn_assets.simulate import ShopConfig, simulate_shop


def peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kib / 1024 / (1024 if sys.platform == "darwin" else 1)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--days", type=int, default=180)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--messy-share", type=float, default=0.01)
    p.add_argument("--truth-every-days", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the output folder")
    p.add_argument("--calibration", action="store_true", help="also measure churn rate, oracle AUC, ...")
    a = p.parse_args(argv)
    out = a.out or Path(tempfile.mkdtemp(prefix="bench_simulate_"))
    cfg = ShopConfig(
        n_users=a.users, n_days=a.days, seed=a.seed, messy_share=a.messy_share, truth_every_days=a.truth_every_days
    )
    started = time.perf_counter()
    summary = simulate_shop(out, cfg)
    wall = time.perf_counter() - started
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    result = {
        "users": a.users,
        "days": a.days,
        "wall_s": round(wall, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "output_mib": round(size / 2**20, 1),
        "rows": summary["rows"],
        "messy_total": summary["messy_total"],
        "truth_rows": summary["truth_rows"],
    }
    if a.calibration:
        from churn_assets.simulate.evaluate import calibration

        result["calibration"] = calibration(out)
    print(json.dumps(result, indent=2))
    if a.keep or a.out:
        print(f"output kept in {out}")
    else:
        shutil.rmtree(out, ignore_errors=True)
    return result


if __name__ == "__main__":
    main()
