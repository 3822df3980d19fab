"""Shared by the schedule and sensor tests: the code location's repository, built once per process."""

import functools

import dagster as dg

from churn_assets.definitions import build_definitions


@functools.cache
def repository() -> dg.RepositoryDefinition:
    """The code location's repository: partitioned run requests are resolved against its jobs."""
    return build_definitions().get_repository_def()
