"""The short report printed at the end of a run: tables, quarantine, users, churn rate per as-of date."""

from __future__ import annotations

from pathlib import Path

import duckdb


def _tables(con) -> list[str]:
    rows = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('main', 'information_schema') ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def print_summary(db_path: Path) -> None:
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = _tables(con)
        print("\n== rows per table")
        for t in tables:
            print(f"  {t:32s} {con.execute(f'SELECT count(*) FROM {t}').fetchone()[0]:>12,}")
        quarantine = [t for t in tables if t.startswith("quarantine.")]
        if quarantine:
            union = " UNION ALL ".join(f"SELECT '{t.split('.')[1]}' AS source, reason FROM {t}" for t in quarantine)
            reasons = con.execute(
                f"SELECT source, reason, count(*) AS n FROM ({union}) GROUP BY 1, 2 ORDER BY 1, 3 DESC"
            ).fetchall()
            print("\n== quarantined rows and why")
            for source, reason, n in reasons:
                print(f"  {source:8s} {n:>8,}  {reason}")
        if "raw.ingest_log" in tables:
            r = con.execute(
                "SELECT sum(read), sum(accepted), sum(rejected), sum(duplicates) FROM raw.ingest_log"
            ).fetchone()
            print(f"\n== ingestion: read {r[0]:,} = accepted {r[1]:,} + rejected {r[2]:,} + duplicates {r[3]:,}")
        if "staging.users" in tables:
            n_users = con.execute("SELECT count(*) FROM staging.users").fetchone()[0]
            n_buyers = con.execute("SELECT count(DISTINCT user_id) FROM staging.orders").fetchone()[0]
            print(f"\n== users: {n_users:,} known, {n_buyers:,} with at least one order")
        if "marts.training_set" in tables:
            rates = con.execute(
                "SELECT as_of_date, split, count(*), avg(churned) FROM marts.training_set GROUP BY 1, 2 ORDER BY 1"
            ).fetchall()
            print("\n== churn rate per as-of date (active users)")
            for d, split, n, rate in rates:
                print(f"  {d}  {split:6s} {n:>8,} active  {rate:6.1%} churned")
