"""The grain checks of the marts and labels: they pass on a table with one row per key and report the
duplicates and NULLs of a broken one."""

from datetime import date

import dagster as dg
import duckdb
import pytest

from churn_assets.defs.checks.marts import GRAIN_CHECK, GRAINS, build_grain_checks
from churn_assets.defs.resources import DuckDBWarehouse
from churn_assets.warehouse.sql_project import load_models

D1, D2 = date(2024, 3, 31), date(2024, 4, 7)


def _warehouse(path, rows: list[tuple]) -> None:
    """Every table of GRAINS holding `rows` (user_id, as_of_date, churned)."""
    con = duckdb.connect(str(path))
    try:
        for table in GRAINS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
            con.execute(f"CREATE TABLE {table} (user_id VARCHAR, as_of_date DATE, churned INTEGER)")
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", rows)
    finally:
        con.close()


def _evaluations(path) -> dict[str, dg.AssetCheckEvaluation]:
    checks = build_grain_checks()
    result = dg.materialize(
        [*(dg.AssetSpec(dg.AssetKey(t.split("."))) for t in GRAINS), *checks],
        selection=dg.AssetSelection.checks(*checks),
        resources={"duckdb": DuckDBWarehouse(path=str(path))},
    )
    assert result.success
    return {e.asset_key.to_user_string().replace("/", "."): e for e in result.get_asset_check_evaluations()}


def test_every_mart_and_label_table_has_a_grain():
    tables = {k for k, m in load_models().items() if m.schema in ("marts", "labels")} | {"marts.training_set"}
    assert tables == set(GRAINS)


def test_grain_checks_pass_on_one_row_per_key(tmp_path):
    _warehouse(tmp_path / "w.duckdb", [("u1", D1, 0), ("u1", D2, 1), ("u2", D1, 0)])
    found = _evaluations(tmp_path / "w.duckdb")
    assert set(found) == set(GRAINS)
    for table, evaluation in found.items():
        assert evaluation.check_name == GRAIN_CHECK and evaluation.passed, table
        assert {k: v.value for k, v in evaluation.metadata.items()} == {
            "rows": 3,
            "user_id is null": 0,
            "as_of_date is null": 0,
            "duplicate keys": 0,
        }


@pytest.mark.parametrize(
    "extra, nulls, duplicates",
    [
        ([("u1", D1, 1)], 0, 1),  # the same user and date twice, whatever the other columns say
        ([("u1", D1, 1), ("u1", D1, 0)], 0, 2),
        ([(None, D1, 0)], 1, 0),
    ],
)
def test_grain_checks_fail_with_the_counts_of_a_broken_table(tmp_path, extra, nulls, duplicates):
    _warehouse(tmp_path / "w.duckdb", [("u1", D1, 0), ("u2", D1, 0), *extra])
    for table, evaluation in _evaluations(tmp_path / "w.duckdb").items():
        figures = {k: v.value for k, v in evaluation.metadata.items()}
        assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR, table
        assert figures["duplicate keys"] == duplicates and figures["user_id is null"] == nulls, table
