"""The `churn` command line: simulate a shop, run the whole pipeline on a data directory, re-score.

    churn simulate --users 2000 --days 200 --seed 7 --out my_shop
    churn run --data-dir my_shop --as-of 2026-06-01 --out risk.csv
    churn run --data-dir my_export --mapping my_export/mapping.yaml --as-of 2026-06-01 --out risk.parquet
    churn score --data-dir my_shop --as-of 2026-06-08

`run` and `score` go through the project's Dagster jobs and the instance of <data dir>/dagster_home,
so `make ui DATA_DIR=<data dir>` shows their runs. Nothing after the as-of date is read: only landing days up
to it are ingested, and the staging models cut everything later (PipelineSettings.until_date), so training
labels end on or before it and scoring sees the as-of day as "today".

app/arguments.py parses the arguments; this module says which jobs each command runs; app/job_runner.py runs
them (and holds the data directory across them); app/data_dir.py prepares and checks the data directory and
says which landing days and kinds to ingest; app/summary.py prints what a run built and scored.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from churn_assets.app.arguments import PROG, build_parser

# light imports only (the heavy ones happen inside the functions): `churn --help` stays quick
from churn_assets.app.data_dir import (
    DataDirError,
    DataSpan,
    check_orders_accepted,
    check_span,
    check_training_history,
    ingest_plan,
    latest_day,
    prepare_landing_files,
    resolve_data_dir,
)
from churn_assets.app.job_runner import CliError, Runner, exclusive, log, merge_config, settings_config

# --------------------------------------------------------------------------------------------------
# arguments


def _ingest(runner: Runner, span: DataSpan) -> None:
    from churn_assets.defs.partitions import RANGE_END, RANGE_START

    plan = ingest_plan(runner.base, span)
    kinds, todo = plan.kinds, plan.days
    if not todo:
        log(
            f"step: ingestion skipped: the {len(span.days)} landing days up to {span.days[-1]} are ingested and unchanged"
        )
        return
    first, last = todo[0], todo[-1]
    n = sum(1 for d in span.days if first <= d <= last)
    runner.run(
        "ingest_job",
        f"ingesting {', '.join(kinds)}: {n} landing days {first} .. {last} (new or changed)",
        tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()},
        asset_selection=[runner.dg.AssetKey(["raw", k]) for k in kinds],
    )


def _check_out(out: Path | None) -> None:
    from churn_assets.warehouse.exports import export_format

    if out is not None:
        try:
            export_format(out)
        except ValueError as exc:
            raise CliError(f"cannot write {out}", str(exc)) from None


def _write_list(base: Path, as_of: date, out: Path | None) -> Path:
    """The day's list is exported by the scoring asset; --out writes the same frame (same columns) elsewhere."""
    from churn_assets.warehouse import paths
    from churn_assets.warehouse.connection import connect_duckdb
    from churn_assets.warehouse.exports import export_frame, write_export

    exported = paths.risk_list_export(base, as_of.isoformat())
    if out is not None:
        with connect_duckdb(paths.duckdb_path(base), read_only=True) as con:
            rows = con.execute("SELECT * FROM scoring.risk_list WHERE as_of_date = ?", [as_of]).df()
        write_export(export_frame(rows), out)
    log(f"risk list: {out or exported}")
    return out or exported


def cmd_run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    _check_out(args.out)
    base = resolve_data_dir(args.data_dir)
    with exclusive(base, f"churn run --as-of {args.as_of or 'latest'}"):
        return _run(args, base, started)


def _run(args: argparse.Namespace, base: Path, started: float) -> int:
    from churn_assets.app.summary import print_results, print_summary
    from churn_assets.defs.resources import MlflowTracking

    prepare_landing_files(base, args.as_of, args.source, args.mapping, log)
    as_of: date = args.as_of or latest_day(base)
    span = check_span(base, as_of)
    check_training_history(span, as_of, args.horizon_days, args.as_of_step_days)
    log(f"data directory {base}: landing days {span.first} .. {span.days[-1]}, as of {as_of}")
    runner = Runner(base, span.first)
    settings = settings_config(
        until_date=as_of.isoformat(),
        horizon_days=args.horizon_days,
        lookback_days=args.lookback_days,
        as_of_step_days=args.as_of_step_days,
    )
    _ingest(runner, span)
    check_orders_accepted(base, as_of)
    text = {"ops": {"ml__review_negativity": {"config": {"enabled": not args.no_text_model}}}}
    # a training set that cannot be evaluated stops here: the blocking check every_split_has_both_labels
    runner.run("build_job", "staging, review-text model, features, labels, training set", merge_config(settings, text))
    print_summary(base)
    training = {k: v for k, v in (("models", args.models), ("max_train_rows", args.max_train_rows)) if v is not None}
    models = {"ops": {"ml__trained_models": {"config": training}}} if training else {}
    runner.run("train_job", "training models, champion, evaluation", merge_config(settings, models))
    runner.run(
        "score_job", f"scoring every active user at {as_of}", settings, tags={"dagster/partition": as_of.isoformat()}
    )
    print_results(base, as_of, MlflowTracking.local(base))
    _write_list(base, as_of, args.out)
    log(f"done in {time.monotonic() - started:.0f}s; `make ui DATA_DIR={base}` shows the runs")
    return 0


def _champion_settings(base: Path) -> dict[str, int]:
    """horizon and lookback the current champion was trained with (its MLflow run's data window)."""
    from churn_assets.defs.resources import MlflowTracking

    tracking = MlflowTracking.local(base)
    mv = tracking.champion_version()
    if mv is None:
        raise CliError(
            f"no champion model yet ({tracking.champion_uri()})", "run `churn run` on this data directory first"
        )
    params = tracking.client().get_run(mv.run_id).data.params
    return {k: int(float(params[k])) for k in ("horizon_days", "lookback_days") if k in params}


def cmd_score(args: argparse.Namespace) -> int:
    from churn_assets.warehouse.paths import default_data_dir

    started = time.monotonic()
    _check_out(args.out)
    base = resolve_data_dir(args.data_dir or default_data_dir())
    if not (base / "churn.duckdb").exists():
        raise CliError(f"{base} has no warehouse yet", "run `churn run` on this data directory first")
    with exclusive(base, f"churn score --as-of {args.as_of or 'latest'}"):
        return _score(args, base, started)


def _score(args: argparse.Namespace, base: Path, started: float) -> int:
    prepare_landing_files(base, args.as_of, args.source, args.mapping, log)
    as_of: date = args.as_of or latest_day(base)
    span = check_span(base, as_of)
    trained = _champion_settings(base)
    if args.lookback_days is not None:
        trained["lookback_days"] = args.lookback_days
    log(f"re-scoring {as_of} with the champion (settings {trained})")
    runner = Runner(base, span.first)
    settings = settings_config(until_date=as_of.isoformat(), **trained)
    _ingest(runner, span)
    from churn_assets.defs.assets.text import NEW_REVIEW_SCORES

    staging = [key for key in runner.defs.resolve_asset_graph().get_all_asset_keys() if key.path[0] == "staging"]
    # reviews since the text model's last run get their scores from the saved model, as in daily_score_job
    runner.run(
        "build_job",
        "refreshing staging tables, scoring new reviews",
        settings,
        asset_selection=[*staging, NEW_REVIEW_SCORES],
    )
    runner.run(
        "score_job", f"scoring every active user at {as_of}", settings, tags={"dagster/partition": as_of.isoformat()}
    )
    _write_list(base, as_of, args.out)
    log(f"done in {time.monotonic() - started:.0f}s")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from churn_assets.simulate import ShopConfig, simulate_shop

    args.out.mkdir(parents=True, exist_ok=True)
    log(f"simulating {args.users} users x {args.days} days from {args.start_date} into {args.out}")
    started = time.monotonic()
    summary = simulate_shop(
        args.out, ShopConfig(n_users=args.users, n_days=args.days, seed=args.seed, start_date=args.start_date)
    )
    log(f"done in {time.monotonic() - started:.0f}s: {summary.get('rows', summary)}")
    log(f"landing files in {args.out / 'landing'}; next: churn run --data-dir {args.out} --as-of YYYY-MM-DD")
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


COMMANDS = {"simulate": cmd_simulate, "run": cmd_run, "score": cmd_score}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Dagster's beta / preview notices about its own API are for developers, not for this command's user
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
    # SIGTERM stops the command like Ctrl-C: the run is marked failed and the warehouse lock released on the way out
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if on_main_thread else None
    try:
        return _dispatch(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        return COMMANDS[args.command](args)
    except (CliError, DataDirError) as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        if exc.cause:
            print(f"  cause: {exc.cause}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug rather than bad input: still one line, the traceback on request
        if os.environ.get("CHURN_DEBUG"):
            raise
        print(f"{PROG} {args.command}: error: unexpected {type(exc).__name__}", file=sys.stderr)
        print(f"  cause: {exc} (CHURN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
