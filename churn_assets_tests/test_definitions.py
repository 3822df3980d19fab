"""The Dagster code location loads, with named groups, descriptions and the jobs make run uses."""

import dagster as dg

from churn_assets.definitions import defs
from churn_assets.sql_project import load_models

EXPECTED_GROUPS = {"ingest", "staging", "text", "features", "labels", "training", "evaluation", "scoring", "monitoring", "drift"}


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
    for name in ("ingest_job", "build_job", "train_job", "score_job", "monitoring_job", "daily_score_job", "retrain_job"):
        assert defs.resolve_job_def(name) is not None
