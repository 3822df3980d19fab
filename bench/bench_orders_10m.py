"""`churn run` on one big orders-only export: wall time per step and peak memory of the process tree.

    .venv/bin/python bench/bench_orders_10m.py                       # 10,000,000 orders, 1,000,000 users, 365 days
    .venv/bin/python bench/bench_orders_10m.py --rows 2000000 --users 200000

DuckDB writes the export (`<dir>/orders.parquet`, or `.csv` with --format csv): each user buys at a
gamma-distributed rate from a start day until a dropout day (exponential lifetime), so recency and frequency
carry the churn signal. The command under test then prepares the landing files (DuckDB splits the export
by day), ingests them day by day, builds the SQL features, trains the classic models and scores the as-of
day, in a subprocess: the export is never loaded whole into pandas. Peak RSS is sampled from /proc over the
subprocess and its children every 0.5 s, and `ru_maxrss` of the children is reported beside it.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

CHURN = Path(sys.executable).with_name("churn")


def generate(path: Path, rows: int, users: int, days: int, first: date, seed: float = 0.42) -> dict:
    """Write `rows` orders of `users` customers over `days` days; returns counts."""
    started = time.monotonic()
    fmt = "(FORMAT parquet, ROW_GROUP_SIZE 500000)" if path.suffix == ".parquet" else "(HEADER, DELIMITER ',')"
    with duckdb.connect() as con:
        con.execute("SELECT setseed(?)", [seed])
        # per user: start day, lifetime (days until dropout) and daily order rate; more orders than needed are
        # drawn, then LIMIT keeps exactly `rows` in a random order
        con.execute(
            f"""
            CREATE TEMP TABLE shop_users AS
            SELECT
                u,
                'u' || lpad(CAST(u AS VARCHAR), 8, '0') AS user_id,
                floor(random() * {days} * 0.8) AS start_day,
                -ln(1 - random()) * 160 AS life,
                0.03 + (-ln(1 - random()) - ln(1 - random())) * 0.03 AS rate
            FROM range({users}) AS t(u)
            """
        )
        con.execute(
            f"""
            CREATE TEMP TABLE shop_orders_plan AS
            SELECT u, user_id, start_day, least(life, {days} - start_day) AS span,
                   1 + CAST(floor(rate * least(life, {days} - start_day)) AS BIGINT) AS n
            FROM shop_users
            """
        )
        planned = con.execute("SELECT sum(n) FROM shop_orders_plan").fetchone()[0]
        scale = max(1.0, rows / planned * 1.05)
        con.execute(
            f"""
            COPY (
                SELECT
                    user_id,
                    'o' || CAST(row_number() OVER () AS VARCHAR) AS order_id,
                    strftime(TIMESTAMP '{first.isoformat()}' + to_seconds(CAST((start_day + random() * span) * 86400 AS BIGINT)),
                             '%Y-%m-%dT%H:%M:%SZ') AS ts,
                    round(exp(3.3 + random() * 1.2), 2) AS amount,
                    CASE WHEN random() < 0.06 THEN 'cancelled' WHEN random() < 0.04 THEN 'returned' ELSE 'paid' END AS status,
                    1 + CAST(floor(-ln(1 - random()) * 0.6) AS INTEGER) AS quantity,
                    ['fashion', 'home', 'books', 'beauty', 'toys', 'grocery'][1 + CAST(floor(random() * 6) AS INTEGER)] AS category
                FROM shop_orders_plan, range(CAST(ceil(n * {scale}) AS BIGINT)) AS k(i)
                LIMIT {rows}
            ) TO '{path}' {fmt}
            """
        )
        n, n_users, lo, hi = con.execute(
            f"SELECT count(*), count(DISTINCT user_id), min(ts), max(ts) FROM '{path}'"
        ).fetchone()
    return {
        "rows": n,
        "users": n_users,
        "first_ts": lo,
        "last_ts": hi,
        "seconds": time.monotonic() - started,
        "bytes": path.stat().st_size,
    }


def tree_rss(root: int) -> int:
    """Sum of VmRSS (bytes) over `root` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parts = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/status") as fh:
                kb = next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
        except (OSError, StopIteration, IndexError, ValueError):
            continue
        pid, ppid = int(entry), int(parts[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = kb * 1024
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run_measured(argv: list[str], log: Path) -> dict:
    started = time.monotonic()
    peak = [0]
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)

        def sample() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], tree_rss(proc.pid))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        steps = []
        for line in proc.stdout:
            out.write(line)
            if line.startswith("[churn]"):
                print(f"  {time.monotonic() - started:7.1f}s {line.rstrip()}", flush=True)
                steps.append((time.monotonic() - started, line.rstrip()))
        proc.wait()
        sampler.join(timeout=2)
    return {
        "returncode": proc.returncode,
        "wall_s": time.monotonic() - started,
        "peak_tree_rss": peak[0],
        "ru_maxrss_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "steps": steps,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--users", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--last-day", type=date.fromisoformat, default=date(2026, 10, 31), help="last day of the export")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    p.add_argument("--dir", type=Path, default=Path("/tmp/churn_bench_orders"))
    p.add_argument("--models", default="recency_rule,bgnbd,logistic,gbt")
    p.add_argument("--as-of-step-days", type=int, default=28)
    p.add_argument("--max-train-rows", type=int, default=0, help="passed to churn run (0 = every row)")
    p.add_argument("--keep", action="store_true", help="keep the data directory")
    return p.parse_args(argv)


def churn_command(a: argparse.Namespace) -> list[str]:
    """The `churn run` command line under test."""
    as_of = a.last_day
    cmd = [
        str(CHURN),
        "run",
        "--data-dir",
        str(a.dir),
        "--as-of",
        as_of.isoformat(),
        "--models",
        a.models,
        "--as-of-step-days",
        str(a.as_of_step_days),
        "--no-text-model",
        "--out",
        str(a.dir / "risk.parquet"),
    ]
    if a.max_train_rows:
        cmd += ["--max-train-rows", str(a.max_train_rows)]
    return cmd


def print_results(got: dict, data_dir: Path) -> None:
    """Wall time, memory and step times of the run; row counts of the warehouse when it succeeded."""
    print(f"\nreturn code {got['returncode']}, wall {got['wall_s']:.0f}s ({got['wall_s'] / 60:.1f} min)")
    print(f"peak RSS of the process tree (sampled): {got['peak_tree_rss'] / 2**30:.2f} GiB")
    print(f"ru_maxrss of the largest child: {got['ru_maxrss_children'] / 2**30:.2f} GiB")
    done = [(t, line) for t, line in got["steps"] if "done:" in line or "ingestion skipped" in line]
    for t, line in done:
        m = re.search(r"in ([\d.]+)s", line)
        print(f"  step ending at {t:7.1f}s: {m.group(1) + 's' if m else ''}  {line}")
    if got["returncode"] == 0:
        with duckdb.connect(str(data_dir / "churn.duckdb"), read_only=True) as con:
            for sql in (
                "SELECT count(*) FROM raw.orders",
                "SELECT count(*) FROM marts.user_features",
                "SELECT split, count(*) FROM marts.training_set GROUP BY 1 ORDER BY 1",
                "SELECT count(*) FROM scoring.risk_list",
            ):
                print(f"  {sql}: {con.execute(sql).fetchall()}")
        print(
            f"  data directory on disk: {sum(f.stat().st_size for f in data_dir.rglob('*') if f.is_file()) / 2**30:.2f} GiB"
        )


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)

    if a.dir.exists():
        shutil.rmtree(a.dir)
    a.dir.mkdir(parents=True)
    first = a.last_day - timedelta(days=a.days - 1)
    export = a.dir / f"orders.{a.format}"
    print(f"generating {a.rows:,} orders of {a.users:,} users, {first} .. {a.last_day} -> {export}", flush=True)
    gen = generate(export, a.rows, a.users, a.days, first)
    print(
        f"  {gen['rows']:,} rows, {gen['users']:,} users, {gen['bytes'] / 2**20:,.0f} MiB, {gen['seconds']:.0f}s",
        flush=True,
    )

    cmd = churn_command(a)
    print("running: " + " ".join(cmd), flush=True)
    got = run_measured(cmd, a.dir.parent / f"{a.dir.name}.log")
    print_results(got, a.dir)
    if not a.keep and got["returncode"] == 0:
        shutil.rmtree(a.dir)
    return got["returncode"]


if __name__ == "__main__":
    raise SystemExit(main())
