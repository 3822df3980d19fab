"""The Dagster code location (`dagster dev -m churn_assets.definitions`). Importing it builds nothing: Dagster calls
`defs` when it loads the location, and the definitions then read the data directory (env CHURN_DATA_DIR)."""

import dagster as dg

from churn_assets.defs.build import build_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
