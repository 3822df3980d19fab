"""The Dagster code location loads, with named groups, descriptions and the jobs make run uses."""

import os
import subprocess
import sys

import dagster as dg

from churn_assets.defs.build import build_definitions
from churn_assets.warehouse.sql_project import load_models

defs = build_definitions()  # on ./data or CHURN_DATA_DIR: building reads, never writes

EXPECTED_GROUPS = {
    "ingest",
    "staging",
    "text",
    "features",
    "labels",
    "training",
    "evaluation",
    "scoring",
    "monitoring",
    "drift",
}


def test_definitions_load_with_groups_and_descriptions():
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    groups = {graph.get(k).group_name for k in keys if graph.get(k).is_materializable}
    assert groups == EXPECTED_GROUPS
    for key in keys:
        node = graph.get(key)
        assert node.is_materializable, f"{key} is referenced but no asset builds it"
        assert node.description, f"{key} has no description"


def test_every_sql_file_is_an_asset_with_its_parsed_dependencies():
    graph = defs.resolve_asset_graph()
    for model in load_models().values():
        node = graph.get(dg.AssetKey([model.schema, model.name]))
        assert {k.to_user_string().replace("/", ".") for k in node.parent_keys} == set(model.deps)


def test_jobs_exist():
    for name in (
        "ingest_job",
        "build_job",
        "train_job",
        "score_job",
        "monitoring_job",
        "daily_score_job",
        "retrain_job",
    ):
        assert defs.resolve_job_def(name) is not None


WATCH_IMPORT = """
import builtins, os, pathlib, sys
data = sys.argv[1]
touched = []
def watch(fn):
    def wrapper(*args, **kwargs):
        if args and str(args[0]).startswith(data):
            touched.append((fn.__name__, str(args[0])))
        return fn(*args, **kwargs)
    return wrapper
os.listdir, os.scandir, os.stat, builtins.open = map(watch, (os.listdir, os.scandir, os.stat, builtins.open))
os.makedirs, os.mkdir = map(watch, (os.makedirs, os.mkdir))
import churn_assets.definitions, churn_assets.app.cli, churn_assets.defs.build
assert not touched, touched
churn_assets.definitions.defs()  # what Dagster does when it loads the location: reads the landing folder only
assert {name for name, _ in touched} <= {"listdir", "scandir", "stat"}, touched
"""


def test_importing_the_code_location_touches_no_file_and_loading_it_creates_nothing(tmp_path):
    data = tmp_path / "data"
    (data / "landing" / "orders").mkdir(parents=True)
    (data / "landing" / "orders" / "2026-02-03.csv").write_text("user_id,order_id,ts,amount\n")
    env = {**os.environ, "CHURN_DATA_DIR": str(data)}
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [sys.executable, "-c", WATCH_IMPORT, str(data)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "data",
        "data/landing",
        "data/landing/orders",
        "data/landing/orders/2026-02-03.csv",
    ]


def test_the_code_location_takes_the_data_directory_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CHURN_DATA_DIR", str(tmp_path))
    (tmp_path / "landing" / "users").mkdir(parents=True)
    (tmp_path / "landing" / "users" / "2025-07-01.jsonl").write_text("")
    from churn_assets.definitions import defs as code_location

    loaded = code_location()
    data_dir = loaded.resources["data_dir"]
    assert isinstance(data_dir.path, dg.EnvVar) and data_dir.path.get_value() == str(tmp_path)
    # the warehouse and the MLflow store take their location from that resource (resolved when a run starts)
    assert loaded.resources["duckdb"].data_dir is data_dir and not loaded.resources["duckdb"].path
    assert loaded.resources["mlflow"].data_dir is data_dir and not loaded.resources["mlflow"].tracking_uri
    assert loaded.resolve_job_def("score_job").partitions_def.get_first_partition_key() == "2025-07-01"
