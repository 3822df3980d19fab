"""Asset checks: raw data (per partition), the grain of the marts and labels, the training set and the champion
(both blocking), the daily risk list."""

import dagster as dg

from churn_assets.defs.checks.data import build_data_checks
from churn_assets.defs.checks.marts import build_grain_checks
from churn_assets.defs.checks.model import champion_auc_above_floor
from churn_assets.defs.checks.risk_list import build_risk_list_checks
from churn_assets.defs.checks.training_set import every_split_has_both_labels


def build_asset_checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    return [
        *build_data_checks(partitions),
        *build_grain_checks(),
        every_split_has_both_labels,
        champion_auc_above_floor,
        *build_risk_list_checks(partitions),
    ]
