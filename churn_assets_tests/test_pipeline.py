"""The whole pipeline on a small simulated shop, through the Dagster jobs, in a temp data directory."""

from datetime import timedelta

import pandas as pd
import pytest

from churn_assets_tests.pipeline_fixtures import data_dir_env, make_shop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    base = tmp_path_factory.mktemp("shop")
    with data_dir_env(base):
        s = make_shop(base)
        s.ingest()
        s.build()
        yield s


def test_ingestion_reconciles_per_partition(shop):
    log = shop.query("SELECT * FROM raw.ingest_log")
    assert len(log) == 4 * len(shop.days())
    assert (log["read"] == log["accepted"] + log["rejected"] + log["duplicates"]).all()
    for kind in ("users", "orders", "events", "reviews"):
        n_raw = shop.query(f"SELECT count(*) AS n FROM raw.{kind}")["n"][0]
        n_q = shop.query(f"SELECT count(*) AS n FROM quarantine.{kind}")["n"][0]
        part = log[log["kind"] == kind]
        assert n_raw == part["accepted"].sum() > 0
        assert n_q == part["rejected"].sum()
    reasons = set(shop.query("SELECT DISTINCT reason FROM quarantine.orders")["reason"])
    assert {"amount below 0", "unknown user", "unparseable timestamp in ts"} <= reasons
    assert log["duplicates"].sum() > 0


def test_reingesting_a_range_is_idempotent(shop):
    before = {k: shop.query(f"SELECT count(*) AS n FROM raw.{k}")["n"][0] for k in ("orders", "events")}
    days = shop.days()
    shop.ingest(days[10], days[12])
    after = {k: shop.query(f"SELECT count(*) AS n FROM raw.{k}")["n"][0] for k in ("orders", "events")}
    assert before == after


def test_training_set_has_time_ordered_splits(shop):
    ts = shop.query("SELECT user_id, as_of_date, split, churned FROM marts.training_set")
    spans = ts.groupby("split")["as_of_date"].agg(["min", "max"])
    assert spans.loc["train", "max"] < spans.loc["valid", "min"]
    assert spans.loc["valid", "max"] < spans.loc["test", "min"]
    # the embargo: a training label window ends before validation starts
    assert spans.loc["train", "max"] + timedelta(days=30) <= spans.loc["valid", "min"]
    assert 0.1 < ts["churned"].mean() < 0.6
    assert not ts.duplicated(["user_id", "as_of_date"]).any()


def test_features_do_not_see_data_after_the_as_of_date(shop):
    dates = sorted(shop.query("SELECT DISTINCT as_of_date FROM intermediate.as_of_dates")["as_of_date"])
    as_of = pd.Timestamp(dates[len(dates) // 2]).date()
    sql = "SELECT * FROM marts.user_features WHERE as_of_date = CAST(? AS DATE) ORDER BY user_id"
    before = shop.query(sql, [as_of])
    users = before["user_id"].head(50).tolist()
    next_day = as_of + timedelta(days=1)
    lines = ["user_id,order_id,ts,amount,status,quantity,category,discount,delivery_days"]
    lines += [f"{u},late-{i},{next_day}T08:00:00Z,99.0,paid,1,books,5,9" for i, u in enumerate(users)]
    (shop.base / "landing" / "orders" / f"{next_day}-late-arrivals.csv").write_text("\n".join(lines) + "\n")
    events = [f'{{"user_id": "{u}", "ts": "{next_day}T09:00:00Z", "event_type": "login"}}' for u in users]
    (shop.base / "landing" / "events" / f"{next_day}-late-arrivals.jsonl").write_text("\n".join(events) + "\n")
    shop.ingest(next_day, next_day)
    shop.build()
    after = shop.query(sql, [as_of])
    pd.testing.assert_frame_equal(before, after)
    # ...while the next as-of date does see the new orders
    later = shop.query("SELECT count(*) AS n FROM staging.orders WHERE order_id LIKE 'late-%'")["n"][0]
    assert later == len(users)


def test_train_evaluate_and_score(shop):
    shop.train()
    comparison = shop.query("SELECT * FROM reports.model_comparison")
    assert set(comparison["model"]) == {"recency_rule", "bgnbd", "logistic", "gbt"}
    assert comparison["oracle_roc_auc"].notna().all()
    assert (comparison["roc_auc"] <= comparison["oracle_roc_auc"] + 0.03).all()
    best = comparison.set_index("model")["roc_auc"]
    assert best["gbt"] > 0.6 and best["logistic"] > 0.6

    day = shop.days()[-1].isoformat()
    shop.score(day)
    risk = shop.query("SELECT * FROM scoring.risk_list WHERE as_of_date = CAST(? AS DATE)", [day])
    active = shop.query("SELECT user_id FROM intermediate.active_users WHERE as_of_date = CAST(? AS DATE)", [day])
    assert sorted(risk["user_id"]) == sorted(active["user_id"])  # every active user exactly once
    assert set(risk["tier"]) <= {"high", "medium", "low"} and risk["tier"].nunique() >= 2
    features = set(shop.query("SELECT * FROM marts.user_features LIMIT 1").columns)
    named = {f for row in risk["reason_features"].dropna() for f in row.split(",") if f}
    assert named and named <= features
    assert risk["reason_1"].notna().mean() > 0.9
    assert risk.loc[risk["tier"] == "low", "action"].eq("no action").all()
    exported = pd.read_csv(shop.base / "exports" / "risk_list" / f"{day}.csv")
    assert len(exported) == len(risk)
    # scoring the same day again replaces it
    shop.score(day)
    again = shop.query("SELECT count(*) AS n FROM scoring.risk_list WHERE as_of_date = CAST(? AS DATE)", [day])
    assert again["n"][0] == len(risk)


def test_a_worse_challenger_does_not_take_the_alias(shop):
    tracking = shop.tracking
    client = tracking.client()
    shop.train(models=["gbt"])
    champion = client.get_model_version_by_alias("churn_model", "champion")
    shop.train(models=["recency_rule"])  # clearly worse than the trees on this shop
    still = client.get_model_version_by_alias("churn_model", "champion")
    assert still.version == champion.version
    decisions = client.search_runs(
        [client.get_experiment_by_name("churn").experiment_id],
        "tags.kind = 'champion_decision'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    assert decisions[0].data.params["promoted"] == "False"
