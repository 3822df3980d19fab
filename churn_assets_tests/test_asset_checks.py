"""Asset checks on a small simulated shop: they pass on clean data and catch what they are meant to catch;
the blocking champion check stops a broken champion from scoring."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import pandas as pd
import pytest

from churn_assets.defs.checks.model import CHAMPION_CHECK
from churn_assets.defs.partitions import RANGE_END, RANGE_START
from churn_assets_tests.pipeline_fixtures import data_dir_env, make_shop, register_inverted_champion

pytestmark = pytest.mark.slow


def checks_of(group: str) -> dg.AssetSelection:
    return dg.AssetSelection.groups(group) - dg.AssetSelection.groups(group).without_checks()


RAW_CHECKS = dg.define_asset_job(
    "raw_checks",
    selection=checks_of("ingest"),
    executor_def=dg.in_process_executor,
)
RISK_LIST_CHECKS = dg.define_asset_job(
    "risk_list_checks",
    selection=checks_of("scoring"),
    executor_def=dg.in_process_executor,
)
RISK_LIST_ALONE = dg.define_asset_job(
    "risk_list_alone",
    selection=dg.AssetSelection.groups("scoring").without_checks(),
    executor_def=dg.in_process_executor,
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    base = tmp_path_factory.mktemp("checks_shop")
    with data_dir_env(base):
        s = make_shop(base, n_users=500)
        s.ingest()
        s.build()
        s.train(models=["logistic", "gbt"])
        s.defs = dg.Definitions.merge(s.defs, dg.Definitions(jobs=[RAW_CHECKS, RISK_LIST_CHECKS, RISK_LIST_ALONE]))
        yield s


def evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def figures(evaluation) -> dict:
    return {k: v.value for k, v in evaluation.metadata.items()}


def run(shop, job: str, day=None, run_config=None, raise_on_error=True, tags=None):
    tags = tags or ({"dagster/partition": day.isoformat()} if day else {})
    return shop.defs.resolve_job_def(job).execute_in_process(
        instance=shop.instance, tags=tags, run_config=run_config, raise_on_error=raise_on_error
    )


def write(shop, *statements):
    with duckdb.connect(str(shop.db)) as con:
        for sql, params in statements:
            con.execute(sql, params)


def test_raw_checks_pass_per_partition_and_catch_tampered_rows(shop):
    day = shop.days()[-10]
    clean = evaluations(run(shop, "raw_checks", day))
    per_partition = {k: e for k, e in clean.items() if k[1] != "orders_fresh"}
    assert len(per_partition) == 4 * 3
    assert all(e.passed for e in per_partition.values()), [k for k, e in per_partition.items() if not e.passed]
    assert all(e.partition == day.isoformat() for e in per_partition.values())  # recorded on the partition
    orders = figures(clean[("raw/orders", "counts_reconcile")])
    assert orders["read"] == orders["accepted"] + orders["rejected"] + orders["duplicates"] > 0

    write(
        shop,
        (
            "UPDATE raw.orders SET amount = -5 WHERE order_id = (SELECT min(order_id) FROM raw.orders WHERE _partition_date = ?)",
            [day],
        ),
        (
            "UPDATE raw.events SET user_id = NULL WHERE rowid = (SELECT min(rowid) FROM raw.events WHERE _partition_date = ?)",
            [day],
        ),
        ("DELETE FROM raw.reviews WHERE _partition_date = ?", [day]),
        ("UPDATE raw.users SET signup_ts = ? + INTERVAL 3 DAY WHERE _partition_date = ?", [day, day]),
    )
    tampered = evaluations(run(shop, "raw_checks", day))
    assert not tampered[("raw/orders", "values_in_range")].passed
    assert figures(tampered[("raw/orders", "values_in_range")])["amount below 0"] == 1
    assert not tampered[("raw/events", "keys_not_null_and_unique")].passed
    assert figures(tampered[("raw/events", "keys_not_null_and_unique")])["user_id is null"] == 1
    n_reviews = figures(clean[("raw/reviews", "counts_reconcile")])["accepted"]
    assert (not tampered[("raw/reviews", "counts_reconcile")].passed) == (n_reviews > 0)
    n_users = figures(clean[("raw/users", "values_in_range")])["rows"]
    assert figures(tampered[("raw/users", "values_in_range")])["signup_ts after its day"] == n_users
    # checks of other partitions are untouched by that day's damage
    assert all(
        e.passed
        for k, e in evaluations(run(shop, "raw_checks", day - timedelta(days=1))).items()
        if k[1] != "orders_fresh"
    )

    shop.ingest(day, day)  # re-ingesting replaces the partition: the checks run with it and pass again
    again = evaluations(run(shop, "raw_checks", day))
    assert all(e.passed for k, e in again.items() if k[1] != "orders_fresh")


def test_range_run_checks_every_day_of_the_range(shop):
    days = shop.days()
    first, last = days[20], days[24]
    result = shop.ingest(first, last)
    checks = evaluations(result)
    reconcile = figures(checks[("raw/orders", "counts_reconcile")])
    assert reconcile["partitions"] == 5 and reconcile["days"] == f"{first}..{last}"
    log = shop.query(
        "SELECT sum(read) AS n FROM raw.ingest_log WHERE kind = 'orders' AND partition_date BETWEEN ? AND ?",
        [first, last],
    )
    assert reconcile["read"] == log["n"][0]
    # one day of the range without its log row fails the whole range's check
    write(shop, ("DELETE FROM raw.ingest_log WHERE kind = 'orders' AND partition_date = ?", [days[22]]))
    result = run(shop, "raw_checks", tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()})
    failed = evaluations(result)[("raw/orders", "counts_reconcile")]
    assert not failed.passed and figures(failed)["not ingested"] == 1
    shop.ingest(days[22], days[22])


def test_freshness_measures_the_newest_partition(shop):
    config = {"ops": {"raw__orders_orders_fresh": {"config": {"reference": "newest_partition", "max_lag_hours": 48}}}}
    fresh = evaluations(run(shop, "raw_checks", shop.days()[-1], run_config=config))[("raw/orders", "orders_fresh")]
    assert fresh.passed and fresh.severity == dg.AssetCheckSeverity.WARN
    assert figures(fresh)["newest partition"] == shop.days()[-1].isoformat()

    # a partition three days on whose file holds only an order from before: the data stops early
    stale_day = shop.days()[-1] + timedelta(days=3)
    user = shop.query("SELECT min(user_id) AS u FROM raw.users")["u"][0]
    lines = ["user_id,order_id,ts,amount", f"{user},stale-1,{shop.days()[-1] - timedelta(days=1)}T12:00:00Z,10.0"]
    path = shop.base / "landing" / "orders" / f"{stale_day}-stale.csv"
    path.write_text("\n".join(lines) + "\n")
    try:
        shop.ingest(stale_day, stale_day)
        stale = evaluations(run(shop, "raw_checks", stale_day, run_config=config))[("raw/orders", "orders_fresh")]
        newest = shop.query("SELECT max(ts) AS ts FROM raw.orders")["ts"][0]
        expected_lag = (pd.Timestamp(stale_day + timedelta(days=1)) - newest).total_seconds() / 3600
        assert not stale.passed and expected_lag > 3 * 24
        assert figures(stale)["newest partition"] == stale_day.isoformat()
        assert figures(stale)["lag vs end of newest partition (hours)"] == pytest.approx(expected_lag, abs=0.1)
        # the clock reference measures the same newest order against now
        lag_now = (datetime.now(UTC).replace(tzinfo=None) - newest).total_seconds() / 3600
        for max_lag, passes in ((lag_now + 1, True), (lag_now - 1, False)):
            by_clock = {"ops": {"raw__orders_orders_fresh": {"config": {"reference": "now", "max_lag_hours": max_lag}}}}
            clock = evaluations(run(shop, "raw_checks", stale_day, run_config=by_clock))[("raw/orders", "orders_fresh")]
            assert clock.passed == passes
            assert figures(clock)["lag vs now (hours)"] == pytest.approx(lag_now, abs=0.2)
    finally:
        path.unlink()
        shop.ingest(stale_day, stale_day)  # no file left: the partition is emptied again


def test_risk_list_checks(shop):
    day = shop.days()[-5]
    result = shop.score(day.isoformat())
    checks = evaluations(result)
    once = checks[("scoring/risk_list", "every_active_user_once")]
    assert once.passed and once.partition == day.isoformat()
    listed = shop.query("SELECT count(*) AS n FROM scoring.risk_list WHERE as_of_date = ?", [day])["n"][0]
    assert figures(once)["active users"] == figures(once)["listed rows"] == listed > 0
    shares = checks[("scoring/risk_list", "tier_shares_within_bounds")]
    assert shares.passed, figures(shares)  # the default bounds
    measured = {t: figures(shares)[f"{t} share"] for t in ("high", "medium", "low")}
    assert sum(measured.values()) == pytest.approx(1.0, abs=1e-3)
    tiers = shop.query("SELECT tier, count(*) AS n FROM scoring.risk_list WHERE as_of_date = ? GROUP BY tier", [day])
    assert measured["high"] == pytest.approx(tiers.set_index("tier")["n"].get("high", 0) / listed, abs=1e-4)
    around = {t: [m - 0.01, m + 0.01] for t, m in measured.items()}
    config = {"ops": {"scoring__risk_list_tier_shares_within_bounds": {"config": around}}}
    assert evaluations(run(shop, "risk_list_checks", day, run_config=config))[
        ("scoring/risk_list", "tier_shares_within_bounds")
    ].passed

    # one user dropped, another listed twice
    write(
        shop,
        (
            "DELETE FROM scoring.risk_list WHERE as_of_date = ? "
            "AND user_id = (SELECT min(user_id) FROM scoring.risk_list WHERE as_of_date = ?)",
            [day, day],
        ),
        (
            "INSERT INTO scoring.risk_list SELECT * FROM scoring.risk_list WHERE as_of_date = ? "
            "AND user_id = (SELECT max(user_id) FROM scoring.risk_list WHERE as_of_date = ?)",
            [day, day],
        ),
    )
    strict = {
        "ops": {"scoring__risk_list_tier_shares_within_bounds": {"config": {"high": [measured["high"] + 0.01, 1.0]}}}
    }
    broken = evaluations(run(shop, "risk_list_checks", day, run_config=strict))
    once = broken[("scoring/risk_list", "every_active_user_once")]
    assert not once.passed
    assert (figures(once)["missing"], figures(once)["listed twice"], figures(once)["not active"]) == (1, 1, 0)
    shares = broken[("scoring/risk_list", "tier_shares_within_bounds")]
    assert not shares.passed and figures(shares)["outside bounds"] == "high"


def test_a_broken_champion_cannot_score(shop):
    client = shop.tracking.client()
    good = client.get_model_version_by_alias("churn_model", "champion").version
    day = shop.days()[-2]
    assert shop.listed(day) == 0
    broken = register_inverted_champion(shop)
    try:
        result = shop.defs.resolve_job_def("score_job").execute_in_process(
            instance=shop.instance, tags={"dagster/partition": day.isoformat()}, raise_on_error=False
        )
        assert not result.success
        gate = evaluations(result)[("ml/champion", CHAMPION_CHECK.name)]
        assert not gate.passed and gate.blocking
        assert figures(gate)["champion_version"] == broken and figures(gate)["test_roc_auc"] < 0.5
        assert not result.get_asset_materialization_events()
        assert shop.listed(day) == 0

        # a run without the check (the risk list alone) refuses the champion whose check failed
        alone = run(shop, "risk_list_alone", day, raise_on_error=False)
        assert not alone.success
        failure = next(e for e in alone.all_events if e.is_step_failure)
        assert "failed its check" in failure.step_failure_data.error.cause.message
        assert shop.listed(day) == 0
    finally:
        client.set_registered_model_alias("churn_model", "champion", good)
    # the good champion scores again
    result = shop.score(day.isoformat())
    assert evaluations(result)[("ml/champion", CHAMPION_CHECK.name)].passed
    assert shop.listed(day) > 0
