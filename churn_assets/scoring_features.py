"""Point-in-time features for one as-of date, built by the same SQL files as the training features.

The feature models run in a scratch in-memory catalog whose staging.* names are views on the
warehouse's staging tables and whose features.as_of_dates holds only the scoring date, so the
training tables are never touched and no feature sees data after that date.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

import duckdb
import pandas as pd

from churn_assets.sql_project import load_models, run_model, topo_order

SCRATCH = "scoring_scratch"


def point_in_time_features(con: duckdb.DuckDBPyConnection, as_of: date, params: Mapping[str, Any]) -> pd.DataFrame:
    """marts.user_features rows for `as_of` (one per active user), computed on connection `con`."""
    models = load_models()
    wanted = [k for k, m in models.items() if m.schema in ("features", "marts") and k != "features.as_of_dates"]
    warehouse = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(f"ATTACH ':memory:' AS {SCRATCH}")
    try:
        con.execute(f"USE {SCRATCH}")
        for schema in ("staging", "features", "marts"):
            con.execute(f"CREATE SCHEMA {schema}")
        for key in (k for k in models if k.startswith("staging.")):
            con.execute(f"CREATE VIEW {key} AS SELECT * FROM {warehouse}.{key}")
        con.execute("CREATE TABLE features.as_of_dates AS SELECT CAST(? AS DATE) AS as_of_date", [as_of])
        for model in topo_order(models, wanted):
            run_model(con, model, params)
        return con.execute("SELECT * FROM marts.user_features ORDER BY user_id").df()
    finally:
        con.execute(f"USE {warehouse}")
        con.execute(f"DETACH {SCRATCH}")
