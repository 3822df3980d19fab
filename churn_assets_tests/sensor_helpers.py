"""Shared by the schedule and sensor tests: the code location's repository, built once per process."""

import functools

import dagster as dg

from churn_assets.defs.build import build_definitions
from churn_assets.defs.partitions import DEFAULT_START_DATE


@functools.cache
def repository() -> dg.RepositoryDefinition:
    """The code location's repository: partitioned run requests are resolved against its jobs."""
    return build_definitions(start_date=DEFAULT_START_DATE).get_repository_def()


def sensor(name: str) -> dg.SensorDefinition:
    return repository().get_sensor_def(name)


def evaluate_sensor(sensor: dg.SensorDefinition, **context: object) -> dg.SensorResult:
    """One tick of `sensor` with a built context (cursor, resources, ...). The context is opened as a context
    manager: the warehouse resource sets up and tears down (its run lock applies to runs only)."""
    with dg.build_sensor_context(**context) as built:  # type: ignore[arg-type]
        return sensor.evaluate_tick(built)
