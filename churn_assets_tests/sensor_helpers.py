"""Shared by the schedule and sensor tests: the code location's repository, built once per process."""

import functools

import dagster as dg

from churn_assets.definitions import build_definitions


@functools.cache
def repository() -> dg.RepositoryDefinition:
    """The code location's repository: partitioned run requests are resolved against its jobs."""
    return build_definitions().get_repository_def()


def evaluate_sensor(sensor: dg.SensorDefinition, **context: object) -> dg.SensorResult:
    """One tick of `sensor` with a built context (cursor, resources, ...). The context is opened as a context
    manager: the warehouse resource sets up and tears down (its run lock applies to runs only)."""
    with dg.build_sensor_context(**context) as built:  # type: ignore[arg-type]
        return sensor.evaluate_tick(built)
