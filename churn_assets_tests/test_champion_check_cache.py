"""The champion check reuses its AUC while the champion version and the test window stay the same, and
re-scores when either changes; a failing champion stays blocked; a new floor re-judges the reused AUC.

Each test starts on a fresh Dagster instance (no earlier evaluation to reuse) over one small trained shop."""

import dataclasses

import dagster as dg
import duckdb
import pytest

import churn_assets.defs.checks.model as champion_check
from churn_assets.defs.checks.model import CHAMPION_CHECK
from churn_assets.defs.jobs import CHAMPION_GATE
from churn_assets_tests.pipeline_fixtures import register_inverted_champion, trained_shop

pytestmark = pytest.mark.slow

# the check alone: what every scoring run starts with
GATE_ONLY = dg.define_asset_job("champion_gate_only", selection=CHAMPION_GATE, executor_def=dg.in_process_executor)
RISK_LIST_ALONE = dg.define_asset_job(
    "risk_list_alone",
    selection=dg.AssetSelection.groups("scoring").without_checks(),
    executor_def=dg.in_process_executor,
)
FLOOR_OP = "ml__champion_champion_auc_above_floor"
# a logistic regression on 400 users reaches about 0.6, close to the default floor: the tests use a floor
# any learned model passes and a label-inverted one fails
FLOOR = 0.5


@pytest.fixture(scope="module")
def shop_once(tmp_path_factory):
    base = tmp_path_factory.mktemp("champion_cache_shop")
    with trained_shop(base, 400, ["logistic"], [GATE_ONLY, RISK_LIST_ALONE]) as s:
        yield s


@pytest.fixture
def shop(shop_once):
    """The trained shop on a fresh instance: the first check of a test always scores."""
    return dataclasses.replace(shop_once, instance=dg.DagsterInstance.ephemeral())


@pytest.fixture
def loads(monkeypatch):
    """Counts the check's model loads; `loads.forbid()` makes any further load fail the test."""

    class Loads:
        n = 0
        forbidden = False

        def forbid(self):
            self.forbidden = True

    counter = Loads()
    real = champion_check.load_model_version

    def counting(tracking, mv):
        assert not counter.forbidden, "the champion check loaded the model although it could reuse its AUC"
        counter.n += 1
        return real(tracking, mv)

    monkeypatch.setattr(champion_check, "load_model_version", counting)
    return counter


def gate(result) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == CHAMPION_CHECK.name)


def figures(result) -> dict:
    return {k: v.value for k, v in gate(result).metadata.items()}


def run(shop, job="champion_gate_only", floor=FLOOR, day=None, raise_on_error=True):
    config = {"ops": {FLOOR_OP: {"config": {"min_test_roc_auc": floor}}}} if floor is not None else None
    tags = {"dagster/partition": (day or shop.days()[-1]).isoformat()} if job != "champion_gate_only" else {}
    return shop.defs.resolve_job_def(job).execute_in_process(
        instance=shop.instance, run_config=config, tags=tags, raise_on_error=raise_on_error
    )


def test_the_second_scoring_run_reuses_the_check(shop, loads):
    first = run(shop, "score_job")
    scored = figures(first)
    assert gate(first).passed and loads.n == 1
    assert not scored["reused"] and scored["scored_in_run"] == first.run_id
    test_rows = shop.query("SELECT count(*) AS n FROM marts.training_set WHERE split = 'test'")["n"][0]
    assert scored["test_rows"] == test_rows

    loads.forbid()
    for _ in range(2):  # a reused result is reused again, still naming the run that scored
        again = run(shop, "score_job")
        reused = figures(again)
        assert again.success and gate(again).passed
        assert reused["reused"] and reused["scored_in_run"] == first.run_id
        assert reused["test_roc_auc"] == scored["test_roc_auc"]
        assert reused["test_window_fingerprint"] == scored["test_window_fingerprint"]
        assert "reused from run" in gate(again).description
    assert shop.listed(shop.days()[-1]) > 0  # the scoring after the reused check ran


def write(shop, *statements):
    with duckdb.connect(str(shop.db)) as con:
        for sql, params in statements:
            con.execute(sql, params)


def test_a_changed_test_window_is_scored_again(shop, loads):
    before = figures(run(shop))
    key = shop.query(
        "SELECT user_id, as_of_date FROM marts.training_set WHERE split = 'test' ORDER BY user_id, as_of_date LIMIT 1"
    )
    row = [key["user_id"][0], key["as_of_date"][0].date()]
    where = "split = 'test' AND user_id = ? AND as_of_date = ?"
    write(shop, (f"CREATE TABLE main.kept_row AS SELECT * FROM marts.training_set WHERE {where}", row))
    try:
        # same rows, one feature value changed: the fingerprint sees the content, not only the keys
        write(shop, (f"UPDATE marts.training_set SET orders_total = orders_total + 1 WHERE {where}", row))
        changed = figures(run(shop))
        assert loads.n == 2 and not changed["reused"]
        assert changed["test_rows"] == before["test_rows"]
        assert changed["test_window_fingerprint"] != before["test_window_fingerprint"]

        write(shop, (f"DELETE FROM marts.training_set WHERE {where}", row))
        fewer = figures(run(shop))
        assert loads.n == 3 and not fewer["reused"] and fewer["test_rows"] == before["test_rows"] - 1
    finally:
        write(
            shop,
            (f"DELETE FROM marts.training_set WHERE {where}", row),
            ("INSERT INTO marts.training_set SELECT * FROM main.kept_row", []),
            ("DROP TABLE main.kept_row", []),
        )
    # restored (appended at the end: another row order), the window has its first fingerprint again
    restored = figures(run(shop))
    assert restored["test_window_fingerprint"] == before["test_window_fingerprint"]
    assert restored["test_roc_auc"] == pytest.approx(before["test_roc_auc"])


def test_a_new_champion_version_is_scored_again(shop, loads):
    tracking = shop.tracking
    client = tracking.client()
    current = tracking.champion_version()
    before = figures(run(shop))
    # the same model registered once more: a new version on the same test window
    again = client.create_model_version(tracking.registered_model, current.source, run_id=current.run_id)
    client.set_registered_model_alias(tracking.registered_model, tracking.champion_alias, again.version)
    try:
        new = figures(run(shop))
        assert loads.n == 2 and not new["reused"]
        assert new["champion_version"] == str(again.version) != before["champion_version"]
        assert new["test_window_fingerprint"] == before["test_window_fingerprint"]
        assert new["test_roc_auc"] == pytest.approx(before["test_roc_auc"])  # same model, same window
    finally:
        client.set_registered_model_alias(tracking.registered_model, tracking.champion_alias, current.version)
    back = figures(run(shop))  # the newest evaluation is on the other version: scored again
    assert loads.n == 3 and not back["reused"] and back["champion_version"] == before["champion_version"]


def test_a_broken_champion_stays_blocked_when_its_result_is_reused(shop, loads):
    tracking = shop.tracking
    good = tracking.champion_version().version
    broken = register_inverted_champion(shop)
    day = shop.days()[-3]
    try:
        first = run(shop, "score_job", day=day, raise_on_error=False)
        assert not first.success and not gate(first).passed and loads.n == 1
        assert figures(first)["champion_version"] == broken and figures(first)["test_roc_auc"] < 0.5

        loads.forbid()
        second = run(shop, "score_job", day=day, raise_on_error=False)
        assert not second.success and not gate(second).passed and gate(second).blocking
        assert figures(second)["reused"] and figures(second)["scored_in_run"] == first.run_id
        assert not second.get_asset_materialization_events()

        # the risk list alone still refuses the champion whose (reused) check failed
        alone = run(shop, "risk_list_alone", floor=None, day=day, raise_on_error=False)
        assert not alone.success
        failure = next(e for e in alone.all_events if e.is_step_failure)
        assert "failed its check" in failure.step_failure_data.error.cause.message
        assert shop.listed(day) == 0
    finally:
        tracking.client().set_registered_model_alias(tracking.registered_model, tracking.champion_alias, good)


def test_a_new_floor_rejudges_the_reused_auc(shop, loads):
    first = run(shop)
    auc = figures(first)["test_roc_auc"]
    assert gate(first).passed and loads.n == 1

    loads.forbid()
    strict = run(shop, "score_job", floor=round(auc + 0.01, 4), raise_on_error=False)
    assert not strict.success and not gate(strict).passed
    assert figures(strict)["reused"] and figures(strict)["test_roc_auc"] == auc
    assert figures(strict)["min_test_roc_auc"] == round(auc + 0.01, 4)
    assert not strict.get_asset_materialization_events()

    # back to a floor the AUC reaches: it passes again, still without re-scoring
    lenient = run(shop, floor=round(auc - 0.01, 4))
    assert gate(lenient).passed and figures(lenient)["reused"] and figures(lenient)["scored_in_run"] == first.run_id
