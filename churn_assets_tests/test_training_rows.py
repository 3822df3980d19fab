"""The train window of a large shop is sampled by user in DuckDB before it is read into pandas."""

import duckdb
import pytest

from churn_assets.defs.assets.training import training_rows


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        """CREATE TABLE marts.training_set AS
        SELECT 'u' || u AS user_id, DATE '2026-01-01' + CAST(7 * d AS INTEGER) AS as_of_date, (u % 3 = 0)::INT AS churned,
               CASE WHEN d < 3 THEN 'train' WHEN d = 3 THEN 'valid' ELSE 'test' END AS split
        FROM range(2000) AS a(u), range(5) AS b(d)"""
    )
    yield con
    con.close()


def test_no_cap_reads_every_row(con):
    assert len(training_rows(con, 0)) == 10_000
    assert len(training_rows(con, 6_000)) == 10_000  # the cap is above the train window's 6,000 rows


def test_the_cap_keeps_whole_users_of_the_train_window_only(con):
    rows = training_rows(con, 1_500)
    train = rows[rows["split"] == "train"]
    assert 1_200 <= len(train) <= 1_800  # about the cap: 500 of 2,000 users x 3 dates
    assert (train.groupby("user_id").size() == 3).all()  # a sampled user keeps all their dates
    assert (rows["split"] == "valid").sum() == 2_000 and (rows["split"] == "test").sum() == 2_000
    assert training_rows(con, 1_500).equals(rows)  # the same users every time
