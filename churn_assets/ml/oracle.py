"""The simulator's ceiling: ROC-AUC of the true churn probability against the realized labels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

TRUTH_FILE = "churn_truth.parquet"


def oracle_auc(labels: pd.DataFrame, truth_dir: Path) -> tuple[float | None, int]:
    """(AUC, rows matched) of truth p_churn vs `churned` on the (user_id, as_of_date) rows given.

    None when there is no truth (a real shop) or it covers no row."""
    path = truth_dir / TRUTH_FILE
    if not path.exists() or labels.empty:
        return None, 0
    dates = sorted(pd.to_datetime(labels["as_of_date"]).dt.date.unique())
    truth = pd.read_parquet(path, filters=[("as_of_date", "in", dates)], columns=["user_id", "as_of_date", "p_churn"])
    keys = labels[["user_id", "as_of_date", "churned"]].assign(as_of_date=lambda d: pd.to_datetime(d["as_of_date"]))
    truth = truth.assign(as_of_date=pd.to_datetime(truth["as_of_date"]))
    joined = keys.merge(truth, on=["user_id", "as_of_date"], how="inner")
    if joined.empty or joined["churned"].nunique() < 2:
        return None, len(joined)
    return float(roc_auc_score(joined["churned"], joined["p_churn"])), len(joined)
