"""The `churn` command's arguments: the subcommands, their options and how each option's text is read."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

PROG = "churn"


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _as_of(text: str) -> date | None:
    """YYYY-MM-DD, or `latest` (None here): the newest day with orders files."""
    return None if text == "latest" else _iso_date(text)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _model_list(text: str) -> list[str]:
    return [m.strip() for m in text.split(",") if m.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Churn early warning on your shop's data: Dagster assets, DuckDB, MLflow.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `churn <command> --help` for the options of each command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{simulate,run,score}", required=True)

    _add_simulate(sub)
    _add_run(sub)
    _add_score(sub)
    return parser


def _add_simulate(sub: Any) -> None:
    sim = sub.add_parser(
        "simulate",
        help="write a simulated shop in the landing layout",
        description="Write a simulated shop (users, orders, events, reviews) to DIR/landing, "
        "with the simulator's ground truth in DIR/truth.",
    )
    sim.add_argument("--users", type=_positive, default=2000, help="customers (default 2000)")
    sim.add_argument("--days", type=_positive, default=200, help="days of history (default 200)")
    sim.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    sim.add_argument("--start-date", type=_iso_date, default=date(2026, 1, 1), help="first day (default 2026-01-01)")
    sim.add_argument("--out", type=Path, required=True, help="data directory to write")


def _data_options(p: argparse.ArgumentParser, required_dir: bool) -> None:
    """The options `run` and `score` share: where the data is, the as-of date, how to prepare it, where to write."""
    p.add_argument(
        "--data-dir",
        type=Path,
        required=required_dir,
        default=None,
        help="the shop's data directory: landing/<kind>/YYYY-MM-DD.* files, or an export to "
        "prepare with --source / --mapping" + ("" if required_dir else " (default: $CHURN_DATA_DIR or ./data)"),
    )
    p.add_argument(
        "--as-of",
        type=_as_of,
        required=True,
        help="YYYY-MM-DD: the day to score; no later data is read. `latest`: the newest day with orders",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--source",
        default=None,
        help="prepare the landing files from a known export layout (contract, online_retail_ii, olist, retailrocket)",
    )
    how.add_argument(
        "--mapping",
        type=Path,
        default=None,
        help="prepare the landing files from an export described by a column-mapping file (YAML or TOML)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write the scored list here: .csv, .csv.gz or .parquet (it is always in "
        "<data dir>/exports/risk_list/<as-of>.csv and .parquet)",
    )


def _add_run(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="ingest, build features, train, pick the champion and score one day",
        description="Run the whole pipeline on the files in --data-dir: ingest the landing days up "
        "to --as-of, build features and labels, train on as-of dates whose label window ends by "
        "--as-of, move the champion when earned, and score every active user at --as-of.",
    )
    _data_options(run, required_dir=True)
    run.add_argument(
        "--horizon-days", type=_positive, default=None, help="churned = no paid order in the next N days (default 30)"
    )
    run.add_argument(
        "--lookback-days",
        type=_non_negative,
        default=None,
        help="active = a paid order in the last N days (default 90); 0 = every user with at least one order",
    )
    run.add_argument(
        "--as-of-step-days", type=_positive, default=None, help="days between training as-of dates (default 7)"
    )
    run.add_argument(
        "--models",
        type=_model_list,
        default=None,
        help="comma-separated models to train (default: recency_rule,bgnbd,logistic,gbt,behaviour_bert,hybrid_gbt; "
        "models that need events are skipped on shops without them)",
    )
    run.add_argument(
        "--max-train-rows",
        type=_non_negative,
        default=None,
        help="large shops: train on about N rows of the train window (whole users, sampled in DuckDB); "
        "validation and test stay whole (default: every row)",
    )
    run.add_argument("--no-text-model", action="store_true", help="do not fine-tune the review-text encoder")


def _add_score(sub: Any) -> None:
    score = sub.add_parser(
        "score",
        help="re-score a day with the current champion (no training)",
        description="Ingest the landing days up to --as-of and score every active user at --as-of "
        "with the current champion, using the lookback the champion was trained with.",
    )
    _data_options(score, required_dir=False)
    score.add_argument(
        "--lookback-days",
        type=_non_negative,
        default=None,
        help="override the champion's lookback (0 = every user with at least one order)",
    )
