"""Time the blocking champion check when it scores and when it reuses its AUC.

    .venv/bin/python bench/bench_champion_check.py --data-dir /path/to/trained/data/dir
    .venv/bin/python bench/bench_champion_check.py --users 400 --models logistic   # builds a small shop first
    .venv/bin/python bench/bench_champion_check.py --data-dir DIR --window-copies 64  # also a 64x test window

On a fresh (ephemeral) Dagster instance the first run of the check scores the champion on the test window;
the next runs find that evaluation (same champion version, same test-window fingerprint) and reuse it.
Prints the check step's wall time (STEP_START to its end) per run and the fingerprint query alone;
--window-copies K also times the fingerprint on a copy of the database whose test window is repeated K times.
Only reads the data directory (DuckDB read-only, MLflow registry). Figures go to BENCHMARKS.md.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb

FLOOR_OP = "ml__champion_champion_auc_above_floor"


def build_shop(base: Path, users: int, models: list[str]) -> None:
    from churn_assets.defs.build import build_definitions
    from churn_assets.ingest.landing_files import landing_days
    from churn_assets.simulate import ShopConfig, simulate_shop
    from churn_assets_tests.pipeline_fixtures import ingest_range, run_job

    simulate_shop(base, ShopConfig(n_users=users))
    defs, instance = build_definitions(base), dg.DagsterInstance.ephemeral()
    days = landing_days(base / "landing")
    ingest_range(defs, instance, days[0], days[-1], landing=base / "landing")
    run_job(defs, "build_job", instance)
    run_job(defs, "train_job", instance, run_config={"ops": {"ml__trained_models": {"config": {"models": models}}}})


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    times = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.step_key == FLOOR_OP:
            times.setdefault(event.event_type_value, entry.timestamp)
    end = times.get("STEP_SUCCESS", times.get("STEP_FAILURE"))
    return end - times["STEP_START"]


def time_fingerprint(db: Path) -> tuple[dict, float]:
    from churn_assets.defs.checks.model import fingerprint_test_window

    with duckdb.connect(str(db), read_only=True) as con:
        started = time.perf_counter()
        window = fingerprint_test_window(con)
        return window, time.perf_counter() - started


def time_fingerprint_of_copies(db: Path, copies: int) -> tuple[dict, float]:
    """The fingerprint on a copy of the database whose test window holds `copies` times its rows."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "churn.duckdb"
        shutil.copy(db, copy)
        with duckdb.connect(str(copy)) as con:
            con.execute("CREATE TEMP TABLE once AS SELECT * FROM marts.training_set WHERE split = 'test'")
            for _ in range(copies - 1):
                con.execute("INSERT INTO marts.training_set SELECT * FROM once")
        return time_fingerprint(copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a data directory with a trained champion")
    parser.add_argument("--users", type=int, default=400, help="without --data-dir: users of the shop to build")
    parser.add_argument("--models", default="logistic", help="without --data-dir: models to train (comma-separated)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window-copies", type=int, default=0, help="also time the fingerprint, K-fold window")
    args = parser.parse_args()

    base = args.data_dir or Path(tempfile.mkdtemp(prefix="bench_champion_check_"))
    if args.data_dir is None:
        started = time.monotonic()
        build_shop(base, args.users, args.models.split(","))
        print(f"built a {args.users}-user shop in {base} ({time.monotonic() - started:.0f} s)")

    from churn_assets.defs.build import build_definitions
    from churn_assets.defs.jobs import CHAMPION_GATE

    gate = dg.define_asset_job("champion_gate", selection=CHAMPION_GATE, executor_def=dg.in_process_executor)
    defs = dg.Definitions.merge(build_definitions(base.resolve()), dg.Definitions(jobs=[gate]))
    instance = dg.DagsterInstance.ephemeral()
    window, seconds = time_fingerprint(base / "churn.duckdb")
    print(
        f"test window: {window['test_rows']:,} rows, {window['test_first_day']}..{window['test_last_day']}; "
        f"fingerprint query {seconds * 1000:.0f} ms"
    )
    if args.window_copies > 1:
        bigger, seconds = time_fingerprint_of_copies(base / "churn.duckdb", args.window_copies)
        print(
            f"test window x{args.window_copies}: {bigger['test_rows']:,} rows; "
            f"fingerprint query {seconds * 1000:.0f} ms"
        )
    for i in range(args.runs):
        result = defs.resolve_job_def("champion_gate").execute_in_process(instance=instance, raise_on_error=False)
        evaluation = result.get_asset_check_evaluations()[0]
        figures = {k: v.value for k, v in evaluation.metadata.items()}
        how = "reused" if figures.get("reused") else "scored"
        print(
            f"run {i + 1}: check {step_seconds(instance, result.run_id):.2f} s ({how}), champion "
            f"v{figures.get('champion_version')} {figures.get('champion_model')}, "
            f"test ROC-AUC {figures.get('test_roc_auc', float('nan')):.4f}, passed={evaluation.passed}"
        )


if __name__ == "__main__":
    main()
