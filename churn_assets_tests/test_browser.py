"""Headless Chromium against `dagster dev` and the MLflow UI after a small materialization.

Playwright drives the distribution's Chromium (`apt-get install chromium`; `.ci/run` does it), so no
browser is downloaded. Screenshots go to test-artifacts/browser/ under the repository (or
$CHURN_TEST_ARTIFACTS/browser); their paths are printed.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from churn_assets.app.instance import write_dagster_yaml
from churn_assets.defs.build import build_definitions
from churn_assets.defs.resources import MlflowTracking
from churn_assets.simulate import ShopConfig, simulate_shop
from churn_assets_tests.local_servers import (
    HOST,
    free_port,
    mlflow_ui_args,
    server_env,
    start_dagster_dev,
    start_server,
    stop_server,
    wait_http,
)
from churn_assets_tests.pipeline_fixtures import Shop, data_dir_env

# make test distributes by file (--dist loadfile): one worker runs this module and starts the servers once
pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("CHURN_TEST_ARTIFACTS") or REPO / "test-artifacts") / "browser"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 90_000  # a loaded CI machine renders slowly
expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclass
class Stack:
    base: Path
    dagster_url: str
    mlflow_url: str
    experiment_id: str
    run_names: set[str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser_shop")
    home = base / "dagster_home"
    # the UI only shows what the test materialized: runs that sensors request in dagster dev stay queued
    write_dagster_yaml(home, max_concurrent_runs=0)
    logs = base / "logs"
    logs.mkdir()
    env = server_env(
        {"CHURN_DATA_DIR": str(base), "DAGSTER_HOME": str(home), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    )
    servers = {}
    try:
        # dagster dev boots while the shop is materialized (its code location takes a while to load); its
        # instance's storage is created first, as this fixture opens the same instance meanwhile
        dagster_port = free_port()
        servers["dagster"] = start_dagster_dev(
            home, dagster_port, REPO / "workspace.yaml", env, logs / "dagster.log", cwd=REPO
        )
        with data_dir_env(base):
            tracking = MlflowTracking.local(base)
            experiment_id = tracking.setup()  # the store exists before the MLflow server opens it
            mlflow_port = free_port()
            artifacts = (base / "mlflow" / "artifacts").as_uri()
            servers["mlflow"] = start_server(
                mlflow_ui_args(tracking.resolved_uri(), artifacts, mlflow_port), env, logs / "mlflow.log"
            )
            simulate_shop(base, ShopConfig(n_users=900, n_days=150, seed=5))
            defs = build_definitions(base)
            # ingestion (one run of 600 partitions) in a throwaway instance: the UI test needs the later runs
            Shop(base, defs, dg.DagsterInstance.ephemeral()).ingest()
            instance = dg.DagsterInstance.from_config(str(home))
            shop = Shop(base, defs, instance)
            shop.build()
            shop.train(models=["logistic", "gbt"])
            shop.score(shop.days()[-1].isoformat())
            instance.dispose()
            run_names = {r.info.run_name for r in tracking.client().search_runs([experiment_id])}
        dagster_url, mlflow_url = f"http://{HOST}:{dagster_port}", f"http://{HOST}:{mlflow_port}"
        wait_http(f"{dagster_url}/server_info", servers["dagster"], timeout_s=240, log=logs / "dagster.log")
        wait_http(f"{mlflow_url}/health", servers["mlflow"], timeout_s=120, log=logs / "mlflow.log")
        yield Stack(base, dagster_url, mlflow_url, experiment_id, run_names)
    finally:
        for proc in servers.values():
            stop_server(proc)


@pytest.fixture(scope="module")
def page(stack):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(stack.dagster_url + "/")
            # first visit: Dagster asks to join its community; Skip dismisses it for this browser profile
            dialog = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
            try:
                dialog.get_by_role("button", name="Skip").click(timeout=UI_TIMEOUT_MS)
            except PlaywrightTimeout:
                pass  # not shown this time
            expect(dialog).to_have_count(0)
            yield page
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def registered_groups() -> set[str]:
    graph = build_definitions().resolve_asset_graph()
    return {graph.get(k).group_name for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}


def test_asset_graph_shows_the_named_groups(stack, page):
    groups = registered_groups()
    assert {"ingest", "staging", "features", "labels", "training", "evaluation", "scoring", "monitoring"} <= groups
    page.goto(stack.dagster_url + "/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    for group in sorted(groups):
        expect(page.get_by_text(group, exact=True).filter(visible=True).first).to_be_visible()
    screenshot(page, "dagster_asset_groups")


def test_evaluation_page_shows_its_metadata_table(stack, page):
    with duckdb.connect(str(stack.base / "churn.duckdb"), read_only=True) as con:
        comparison = con.execute("SELECT model, roc_auc FROM reports.model_comparison").fetchall()
    page.goto(stack.dagster_url + "/assets/reports/evaluation")
    expect(page.get_by_text("Latest materialization")).to_be_visible()
    metadata = page.locator("table").filter(has_text="comparison")
    expect(metadata.first).to_be_visible()
    row = metadata.first.locator("tr").filter(has_text="comparison").first
    for model, auc in comparison:
        expect(row).to_contain_text(model)
        expect(row).to_contain_text(f"{round(auc, 4):g}")  # as the asset wrote it (rounded, tabulate's format)
    expect(metadata.first).to_contain_text("oracle_roc_auc")
    screenshot(page, "dagster_evaluation_metadata")


def test_schedules_and_sensors_are_listed(stack, page):
    defs = build_definitions()
    schedules = [s.name for s in defs.schedules or []]
    sensors = [s.name for s in defs.sensors or []]
    assert schedules and sensors, "the code location registers no schedule or no sensor"
    page.goto(stack.dagster_url + "/automation")
    for name in schedules + sensors:
        expect(page.get_by_text(name, exact=True).filter(visible=True).first).to_be_visible()
    screenshot(page, "dagster_automation")


def test_mlflow_ui_lists_the_runs(stack, page):
    assert {"logistic", "gbt", "champion_decision", "evaluation"} <= stack.run_names
    page.goto(f"{stack.mlflow_url}/#/experiments/{stack.experiment_id}/runs?workflowType=machine_learning")
    expect(page.get_by_text(f"{len(stack.run_names)} matching runs")).to_be_visible()
    for name in sorted(stack.run_names):
        expect(page.get_by_role("link", name=name, exact=True).filter(visible=True).first).to_be_visible()
    screenshot(page, "mlflow_runs")
