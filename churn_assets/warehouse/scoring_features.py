"""Point-in-time features for one as-of date, built by the same SQL files as the training features.

The feature models run in a scratch in-memory catalog whose inputs (staging.*, ml.review_negativity)
are views on the warehouse's tables and whose intermediate.as_of_dates holds only the scoring date, so the
training tables are never touched and no feature sees data after that date.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from churn_assets.warehouse.sql_project import load_models, run_model, topo_order

SCRATCH = "scoring_scratch"
AS_OF_DATES = "intermediate.as_of_dates"  # replaced by the one scoring date
ACTIVE_USERS = "intermediate.active_users"


def feature_model_keys() -> list[str]:
    """The SQL models computed per (user, as-of date): the users in scope and every feature table."""
    return [k for k, m in load_models().items() if m.schema in ("features", "marts") or k == ACTIVE_USERS]


@contextmanager
def _point_in_time(con: duckdb.DuckDBPyConnection, as_of: date, params: Mapping[str, Any], wanted: list[str]):
    """Run the SQL models `wanted` for the single as-of date `as_of` in a scratch catalog; yields `con`
    with that catalog in use (its tables are gone afterwards)."""
    models = load_models()
    inputs = sorted({d for k in wanted for d in models[k].deps} - set(wanted) - {AS_OF_DATES})
    warehouse = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute(f"ATTACH ':memory:' AS {SCRATCH}")
    try:
        con.execute(f"USE {SCRATCH}")
        for schema in sorted({k.split(".")[0] for k in [*inputs, *wanted, AS_OF_DATES]}):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for key in inputs:  # staging tables, the text model's scores: read from the warehouse
            con.execute(f"CREATE VIEW {key} AS SELECT * FROM {warehouse}.{key}")
        con.execute(f"CREATE TABLE {AS_OF_DATES} AS SELECT CAST(? AS DATE) AS as_of_date", [as_of])
        for model in topo_order(models, wanted):
            run_model(con, model, params)
        yield con
    finally:
        con.execute(f"USE {warehouse}")
        con.execute(f"DETACH {SCRATCH}")


def point_in_time_features(con: duckdb.DuckDBPyConnection, as_of: date, params: Mapping[str, Any]) -> pd.DataFrame:
    """marts.user_features rows for `as_of` (one per active user), computed on connection `con`."""
    with _point_in_time(con, as_of, params, feature_model_keys()) as scratch:
        return scratch.execute("SELECT * FROM marts.user_features ORDER BY user_id").df()


def active_users_at(con: duckdb.DuckDBPyConnection, as_of: date, params: Mapping[str, Any]) -> list[str]:
    """The users in scope at `as_of` by intermediate/active_users.sql (the users a risk list must hold)."""
    with _point_in_time(con, as_of, params, [ACTIVE_USERS]) as scratch:
        return [r[0] for r in scratch.execute(f"SELECT user_id FROM {ACTIVE_USERS} ORDER BY user_id").fetchall()]
