"""The recency-rule baseline: P(churn) as a logistic function of log-recency.

Inputs: ``days_since_last_order`` (required) and ``recency_over_typical_gap`` (used when present in the
training data and not entirely missing). Each input is mapped to log1p(max(x, 0)), median-imputed
(with a missing indicator) and standardised; a LogisticRegression fitted on the training window
turns it into a probability. With the single recency input the mapping is monotone in recency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn_assets.ml.models.logistic import LinearPipelineModel
from churn_assets.ml.models.registry import register_model


@register_model("recency_rule")
class RecencyRuleModel(LinearPipelineModel):
    default_params = {
        "recency_column": "days_since_last_order",
        "ratio_column": "recency_over_typical_gap",
        "use_ratio": True,
        "C": 1.0,
        "class_weight": None,
        "max_iter": 2000,
    }

    def _select_features(self, X: pd.DataFrame) -> None:
        rc, gc = self.params["recency_column"], self.params["ratio_column"]
        if rc not in X.columns:
            raise KeyError(f"recency_rule needs the column {rc!r}")
        cols = [rc]
        if self.params["use_ratio"] and gc and gc in X.columns and X[gc].notna().any():
            cols.append(gc)
        self.feature_names_ = cols
        self.numeric_features_ = list(cols)
        self.categorical_features_ = []

    def _transform_inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        return np.log1p(X[self.feature_names_].clip(lower=0.0))
