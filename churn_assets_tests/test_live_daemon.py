"""Live: dagster dev (webserver + daemon) picks up landing files through the landing sensor (slow)."""

import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from churn_assets.app.instance import write_dagster_yaml
from churn_assets.defs.partitions import RANGE_END, RANGE_START
from churn_assets.defs.resources import DuckDBWarehouse
from churn_assets_tests.local_servers import free_port, server_env, start_dagster_dev, stop_server

REPO = Path(__file__).resolve().parents[1]


def wait_for_run(instance: dg.DagsterInstance, tags: dict, timeout_s: float, proc: subprocess.Popen, log: Path):
    """The first finished run with these tags (polling the instance the daemon writes to)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dagster dev exited early:\n{log.read_text()[-3000:]}"
        runs = instance.get_runs(filters=dg.RunsFilter(tags=tags))
        done = [r for r in runs if r.is_finished]
        if done:
            return done[0]
        time.sleep(2)
    raise AssertionError(f"no finished run with tags {tags} after {timeout_s}s:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_live_daemon_ingests_new_landing_files(tmp_path):
    """dagster dev (webserver + daemon) on loopback: the landing sensor, running by default, starts ingest_job
    for the landed days, then for exactly the day of a file that arrives later."""
    from churn_assets.simulate import ShopConfig, simulate_shop

    base = tmp_path / "data"
    simulate_shop(base, ShopConfig(n_users=120, n_days=12, seed=5))
    home = base / "dagster_home"
    write_dagster_yaml(home)
    env = server_env({"CHURN_DATA_DIR": str(base), "CHURN_LANDING_SETTLE_S": "1", "CHURN_SENSOR_INTERVAL_S": "5"})
    log = tmp_path / "dagster_dev.log"
    # the instance's storage is created before dagster dev starts, so this test and the server can open it at once
    proc = start_dagster_dev(home, free_port(), REPO / "workspace.yaml", env, log, cwd=REPO)
    try:
        instance = dg.DagsterInstance.from_config(str(home))
        days = sorted({p.name[:10] for p in (base / "landing").glob("*/*") if p.is_file()})
        first = wait_for_run(instance, {"churn/trigger": "landing_files_sensor"}, 240, proc, log)
        assert first.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
        assert (first.tags[RANGE_START], first.tags[RANGE_END]) == (days[0], days[-1])
        db = DuckDBWarehouse(path=str(base / "churn.duckdb"), lock_timeout_s=60)
        with db.connect(read_only=True) as con:
            ingested = con.execute(
                "SELECT DISTINCT CAST(partition_date AS VARCHAR) FROM raw.ingest_log ORDER BY 1"
            ).fetchall()
        assert [d for (d,) in ingested] == days

        # a late file for one day: a run for exactly that partition
        late_day = days[3]
        user = sorted((base / "landing" / "users").glob("*"))[0].read_text().splitlines()[1].split(",")[0]
        (base / "landing" / "orders" / f"{late_day}-late.csv").write_text(
            f"user_id,order_id,ts,amount\n{user},late-1,{late_day}T10:00:00Z,42.0\n"
        )
        tags = {"churn/trigger": "landing_files_sensor", "dagster/partition": late_day}
        second = wait_for_run(instance, tags, 120, proc, log)
        assert second.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
        assert len(instance.get_runs(filters=dg.RunsFilter(tags={"churn/trigger": "landing_files_sensor"}))) == 2
        with db.connect(read_only=True) as con:
            assert con.execute("SELECT count(*) FROM raw.orders WHERE order_id = 'late-1'").fetchone()[0] == 1

        # the other sensors ticked too, and skipped without error (no champion, no drift measured yet)
        # sensor ticks have no public API: the test reads them the way Dagster's own tests do
        from dagster._core.scheduler.instigation import InstigatorType, TickStatus

        states = {st.instigator_name: st for st in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)}
        for name in ("landing_files_sensor", "champion_alias_sensor", "drift_sensor"):
            ticks = instance.get_ticks(states[name].instigator_origin_id, states[name].selector_id)
            assert ticks, f"{name} never ticked"
            failed = [t.tick_data.error for t in ticks if t.status == TickStatus.FAILURE]
            assert not failed, f"{name}: {failed[0]}"
            if name != "landing_files_sensor":
                assert {t.status for t in ticks} == {TickStatus.SKIPPED}
    finally:
        stop_server(proc, timeout_s=30)
