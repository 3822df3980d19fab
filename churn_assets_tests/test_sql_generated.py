"""The SQL project itself: the SQL generated from the contract (staging's deduplication and $until_date filter),
parameters that match the pipeline settings, described and portable feature models."""

from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from churn_assets.warehouse.contract import SOURCES
from churn_assets.warehouse.sql_project import deduplicated_sql, expand_generated, load_models, run_model
from churn_assets_tests.sql_fixtures import DEFAULT_SQL_PARAMS, FEATURE_TABLES, empty_db, insert_rows

# one row per source and a column outside its natural key, to tell two deliveries of that row apart
ROWS = {
    "users": ({"user_id": "u1", "signup_ts": "2024-03-01 10:00"}, "region"),
    "orders": ({"user_id": "u1", "order_id": "o1", "ts": "2024-03-01 10:00", "amount": 1.0}, "category"),
    "events": ({"user_id": "u1", "ts": "2024-03-01 10:00", "event_type": "login"}, "device"),
    "reviews": ({"user_id": "u1", "ts": "2024-03-01 10:00", "kind": "review", "text": "ok"}, "rating"),
}


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_the_generated_dedup_partitions_by_exactly_the_contracts_natural_key(kind):
    spec = SOURCES[kind]
    tree = sqlglot.parse_one(deduplicated_sql(spec).strip()[1:-1], read="duckdb")
    (window,) = list(tree.find_all(exp.Window))
    assert tuple(c.name for c in window.args["partition_by"]) == spec.natural_key
    assert [c.name for c in window.args["order"].expressions] == ["_partition_date", "_source_file", "_source_line"]
    assert {t.sql() for t in tree.find_all(exp.Table)} == {f"raw.{kind} AS r"}
    assert {p.this for p in tree.find_all(exp.Placeholder)} == {"until_date"}
    # the row's own timestamp is cut at $until_date too, not only its file's day
    assert {c.this.name for c in tree.find_all(exp.Cast) if isinstance(c.this, exp.Column)} == {spec.time_column}


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_each_staging_model_reads_its_source_through_the_generated_dedup(kind):
    model = load_models()[f"staging.{kind}"]
    assert deduplicated_sql(SOURCES[kind]) in model.sql  # what the asset's `sql` metadata shows
    assert "row_number" not in model.path.read_text()  # the file holds what is its own only
    assert model.deps == (f"raw.{kind}",) and "until_date" in model.params


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_the_first_delivery_of_a_key_wins_and_later_days_stay_unseen(kind):
    row, other = ROWS[kind]
    value = 3 if other == "rating" else "x"
    con = empty_db()
    # delivered again later with another non-key value, inserted first: the partition day decides, not the insert
    insert_rows(con, kind, [{**row, other: 4 if other == "rating" else "y"}], partition_date=date(2024, 3, 5))
    insert_rows(con, kind, [{**row, other: value}], partition_date=date(2024, 3, 1))
    model = load_models()[f"staging.{kind}"]
    run_model(con, model, DEFAULT_SQL_PARAMS)
    assert con.execute(f"SELECT {other} FROM staging.{kind}").fetchall() == [(value,)]
    run_model(con, model, {**DEFAULT_SQL_PARAMS, "until_date": "2024-02-29"})
    assert con.execute(f"SELECT count(*) FROM staging.{kind}").fetchone()[0] == 0


def test_an_unknown_source_is_refused_and_comments_are_left_as_written():
    with pytest.raises(ValueError, match="deduplicated.nothing"):
        expand_generated("SELECT * FROM deduplicated.nothing")
    assert expand_generated("-- reads deduplicated.orders\nSELECT 1") == "-- reads deduplicated.orders\nSELECT 1"


def test_default_params_match_pipeline_settings():
    from churn_assets.defs.resources import PipelineSettings

    settings = PipelineSettings().sql_params()
    used = {p for m in load_models().values() for p in m.params}
    assert used <= set(DEFAULT_SQL_PARAMS), used - set(DEFAULT_SQL_PARAMS)
    assert used <= set(settings), used - set(settings)
    assert {p: settings[p] for p in DEFAULT_SQL_PARAMS} == DEFAULT_SQL_PARAMS


@pytest.mark.parametrize("key", FEATURE_TABLES)
def test_models_are_described_and_portable(key):
    model = load_models()[key]
    assert len(model.description) > 80
    assert "intermediate.active_users" in model.deps
    spark = sqlglot.transpile(model.sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
    assert len(spark) == 1
