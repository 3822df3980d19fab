"""The blocking training-set check: a training set with a window that cannot be evaluated stops the run before
anything downstream (training) runs, wherever the run was started."""

from datetime import date

import dagster as dg
import duckdb

from churn_assets.defs.checks.training_set import TRAINING_SET, every_split_has_both_labels, split_problems
from churn_assets.defs.resources import DuckDBWarehouse


def _training_set(path, labels: dict[str, list[int]]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.training_set (user_id VARCHAR, as_of_date DATE, split VARCHAR, churned INTEGER)"
        )
        rows = [(f"u{i}", date(2026, 3, 1), split, y) for split, ys in labels.items() for i, y in enumerate(ys)]
        con.executemany("INSERT INTO marts.training_set VALUES (?, ?, ?, ?)", rows)


@dg.asset(key=TRAINING_SET)
def built_training_set() -> None:
    """Stands for marts/training_set, already in the test's warehouse."""


@dg.asset(deps=[TRAINING_SET])
def trained() -> None:
    """Stands for ml/trained_models: must not run on a training set that failed its check."""


def _run(path):
    return dg.materialize(
        [built_training_set, trained, every_split_has_both_labels],
        resources={"duckdb": DuckDBWarehouse(path=str(path))},
        raise_on_error=False,
    )


def test_a_usable_training_set_passes_and_training_runs(tmp_path):
    _training_set(tmp_path / "w.duckdb", {"train": [0, 1, 1], "valid": [0, 1], "test": [1, 0]})
    result = _run(tmp_path / "w.duckdb")
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata["train rows"].value == 3
    assert dg.AssetKey("trained") in {e.materialization.asset_key for e in result.get_asset_materialization_events()}


def test_a_window_with_one_label_stops_the_run_before_training(tmp_path):
    _training_set(tmp_path / "w.duckdb", {"train": [0, 1], "valid": [0, 0], "test": [1, 0]})
    result = _run(tmp_path / "w.duckdb")
    assert not result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.blocking
    assert "every user in the valid window has the same label" in evaluation.description
    assert dg.AssetKey("trained") not in {
        e.materialization.asset_key for e in result.get_asset_materialization_events()
    }


def test_split_problems_name_each_unusable_window():
    problems = split_problems([("train", 10, 2), ("test", 4, 1)])
    assert problems == [
        "the valid window has no active users: use more days of data or a longer lookback",
        "every user in the test window has the same label: churned and retained users are both needed; "
        "try another horizon or more data",
    ]
    assert split_problems([(s, 5, 2) for s in ("train", "valid", "test")]) == []
