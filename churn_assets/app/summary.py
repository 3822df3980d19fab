"""What `churn run` prints after building (tables, quarantine, ingestion, users, churn rate per as-of date) and after
scoring (the models on the test window, the champion, the tiers of the day's list)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from churn_assets.warehouse import paths
from churn_assets.warehouse.connection import connect_duckdb

if TYPE_CHECKING:
    from churn_assets.defs.resources import MlflowTracking


def _tables(con) -> list[str]:
    rows = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('main', 'information_schema') ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def print_summary(base: Path) -> None:
    with connect_duckdb(paths.duckdb_path(base), read_only=True) as con:
        tables = _tables(con)
        print("\n== rows per table")
        for t in tables:
            print(f"  {t:32s} {con.execute(f'SELECT count(*) FROM {t}').fetchall()[0][0]:>12,}")
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
            ).fetchall()[0]
            print(f"\n== ingestion: read {r[0]:,} = accepted {r[1]:,} + rejected {r[2]:,} + duplicates {r[3]:,}")
        if "staging.users" in tables:
            n_users = con.execute("SELECT count(*) FROM staging.users").fetchall()[0][0]
            n_buyers = con.execute("SELECT count(DISTINCT user_id) FROM staging.orders").fetchall()[0][0]
            print(f"\n== users: {n_users:,} known, {n_buyers:,} with at least one order")
        if "marts.training_set" in tables:
            rates = con.execute(
                "SELECT as_of_date, split, count(*), avg(churned) FROM marts.training_set GROUP BY 1, 2 ORDER BY 1"
            ).fetchall()
            print("\n== churn rate per as-of date (active users)")
            for d, split, n, rate in rates:
                print(f"  {d}  {split:6s} {n:>8,} active  {rate:6.1%} churned")


def print_text_model(base: Path) -> None:
    """The review-text model the run kept: its language, the candidate selected and each one's validation AUC."""
    state_file = paths.text_model_dir(base) / "text_model.json"
    if not state_file.exists():
        print("\n== review-text model: none (disabled, or too few rated reviews)")
        return
    state = json.loads(state_file.read_text())
    aucs = ", ".join(f"{k} {v:.4f}" for k, v in (state.get("candidates") or {}).items())
    print(
        f"\n== review-text model: {state.get('selected', 'encoder')} selected, reviews in "
        f"'{state.get('language') or '?'}'" + (f"; validation ROC-AUC {aucs}" if aucs else "")
    )
    for name, why in (state.get("skipped") or {}).items():
        print(f"   {name} skipped: {why}")


def print_results(base: Path, day: date, tracking: MlflowTracking) -> None:
    """Champion vs oracle and baseline on the test window, tier counts, where the day's list is."""
    with connect_duckdb(paths.duckdb_path(base), read_only=True) as con:
        table = con.execute("SELECT model, roc_auc, pr_auc, oracle_roc_auc FROM reports.model_comparison").df()
        tiers = con.execute(
            "SELECT tier, count(*) FROM scoring.risk_list WHERE as_of_date = ? GROUP BY 1", [day]
        ).fetchall()
    print("\n== models on the test window")
    print(table.round(4).to_string(index=False))
    mv = tracking.champion_version()
    name = mv.tags.get("model", "?") if mv is not None else "(none)"
    row = table[table["model"] == name]
    oracle = table["oracle_roc_auc"].iloc[0]
    recency = table.loc[table["model"] == "recency_rule", "roc_auc"]
    print(f"\n== champion: {tracking.champion_uri()} = {name} (version {mv.version if mv is not None else '-'})")
    if not row.empty:
        print(f"   test ROC-AUC {row['roc_auc'].iloc[0]:.4f}   PR-AUC {row['pr_auc'].iloc[0]:.4f}")
    if oracle is not None and oracle == oracle:  # NaN when the shop has no ground truth
        print(f"   oracle ROC-AUC {oracle:.4f} (simulator's ceiling)")
    if not recency.empty:
        print(f"   recency baseline ROC-AUC {recency.iloc[0]:.4f}")
    print_text_model(base)
    counts = dict(tiers)
    print(
        f"\n== risk list {day}: " + ", ".join(f"{t} {counts.get(t, 0):,}" for t in ("high", "medium", "low")),
        flush=True,
    )
