"""Asset checks: raw data (per partition), the champion (blocking) and the daily risk list."""

from churn_assets.checks.data import data_checks
from churn_assets.checks.model import champion_auc_above_floor
from churn_assets.checks.risk_list import risk_list_checks

asset_checks = [*data_checks, champion_auc_above_floor, *risk_list_checks]
