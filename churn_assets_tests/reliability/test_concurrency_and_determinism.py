"""Two `churn score` of different days at once on one data directory give the lists each gives alone; two runs on
identical copies of a shop give the same training set, bit for bit, and the same list.

Before the run lock, each `churn score` rebuilt the shared staging tables with its own cut-off date between the
other's steps: in the probe 230 of 1,040 users changed tier. Before exact sums in the feature SQL, DuckDB's
parallel float aggregation made the training set differ in the last bits, and gbt's lists differed between runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_assets.warehouse.connection import connect_duckdb
from churn_assets_tests.reliability.runs import (
    assert_same_list,
    churn_cmd,
    copy_shop,
    finish,
    run_args,
    simulate_orders_only,
    start,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

DAYS = ("2026-03-26", "2026-04-02")  # a week apart: the staging cut-offs differ by a week of orders


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("parallel")
    fresh = simulate_orders_only(root / "fresh")
    shop = copy_shop(fresh, root / "shop", keep_warehouse=False)
    finish(run_args(shop, root / "shop.csv"), root / "shop.log")
    return {"fresh": fresh, "shop": shop, "list": root / "shop.csv"}


def _score(shop, day, out):
    return churn_cmd("score", shop, day, out)


def test_two_scores_of_different_days_at_once_match_each_scored_alone(trained, tmp_path):
    shop = trained["shop"]
    for day in DAYS:
        finish(_score(shop, day, tmp_path / f"alone_{day}.csv"), tmp_path / f"alone_{day}.log")
    procs = [
        start(_score(shop, day, tmp_path / f"together_{day}.csv"), tmp_path / f"together_{day}.log") for day in DAYS
    ]
    try:
        codes = [p.wait(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert codes == [0, 0], [(tmp_path / f"together_{d}.log").read_text()[-2000:] for d in DAYS]
    for day in DAYS:
        assert_same_list(tmp_path / f"together_{day}.csv", tmp_path / f"alone_{day}.csv")
    # the two days really differ: the test would see a mix-up of their staging tables
    alone = [pd.read_csv(tmp_path / f"alone_{d}.csv") for d in DAYS]
    assert set(alone[0]["user_id"]) != set(alone[1]["user_id"])


def _training_set(shop) -> pd.DataFrame:
    with connect_duckdb(shop / "churn.duckdb", read_only=True) as con:
        return con.execute("SELECT * FROM marts.training_set ORDER BY user_id, as_of_date").df()


def test_two_runs_on_identical_copies_give_the_same_training_set_and_list(trained, tmp_path):
    copy = copy_shop(trained["fresh"], tmp_path / "copy", keep_warehouse=False)
    finish(run_args(copy, tmp_path / "copy.csv"), tmp_path / "copy.log")
    first, second = _training_set(trained["shop"]), _training_set(copy)
    assert list(first.columns) == list(second.columns) and len(first) == len(second) > 0
    for col in first.columns:
        a, b = first[col].to_numpy(), second[col].to_numpy()
        if np.issubdtype(a.dtype, np.floating):
            assert np.array_equal(a, b, equal_nan=True), f"{col} differs (max {np.nanmax(np.abs(a - b))})"
        else:
            assert (pd.Series(a).fillna(-1) == pd.Series(b).fillna(-1)).all(), col
    assert_same_list(tmp_path / "copy.csv", trained["list"])


def test_churn_score_waits_while_another_process_holds_the_duckdb_file(trained, tmp_path):
    """A notebook (here: this test process) with a write connection open: `churn score` waits for the file
    instead of failing at once with "Could not set lock on file" (its own reads outside steps used to connect
    without the wait the steps have)."""
    import threading

    import duckdb

    holder = duckdb.connect(str(trained["shop"] / "churn.duckdb"))
    release = threading.Timer(8.0, holder.close)
    release.start()
    try:
        finish(_score(trained["shop"], DAYS[1], tmp_path / "waited.csv"), tmp_path / "waited.log")
    finally:
        release.cancel()
        holder.close()
    assert_same_list(tmp_path / "waited.csv", trained["list"])
