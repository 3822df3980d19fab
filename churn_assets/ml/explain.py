"""Per-row explanations: log-odds contributions of any ChurnModel, and reasons in plain words.

``contributions(model, X)`` -> DataFrame (rows of X x the model's source features):
    gbt            TreeSHAP (LightGBM ``pred_contrib=True``)
    logistic       coef x (standardised value - training mean), one-hot and missing-indicator
                   columns summed back onto their source column
    recency_rule   the same, over its one or two recency inputs
    bgnbd          exact Shapley split of logit(P(churn)) over (frequency, recency, T) vs training medians
    calibrated     delegates to its base model
For these models, with ``include_bias=True``, bias + row sum = logit of the (uncalibrated) P(churn).
"""

from __future__ import annotations

import pandas as pd

from churn_assets.ml.models.base import ChurnModel


def contributions(model: ChurnModel, X: pd.DataFrame, include_bias: bool = False) -> pd.DataFrame:
    if not hasattr(model, "contributions"):
        raise TypeError(f"{type(model).__name__} does not provide contributions")
    return model.contributions(X, include_bias=include_bias)


def explain(model: ChurnModel, X: pd.DataFrame, k: int = 3) -> list[list[dict]]:
    """Contributions then ``top_reasons`` in one call."""
    from churn_assets.ml.reasons import top_reasons

    return top_reasons(contributions(model, X), X, k=k)
