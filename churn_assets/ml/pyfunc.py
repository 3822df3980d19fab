"""MLflow pyfunc wrapper around a saved ChurnModel: feature rows in, probability, tier and reasons out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

# from the submodule: mlflow's package exports pyfunc as a lazy loader, which mypy cannot look into
from mlflow.pyfunc import PythonModel

if TYPE_CHECKING:
    from churn_assets.ml.models.base import ChurnModel


class ChurnPyfunc(PythonModel):
    """`mlflow models serve` / `mlflow.pyfunc.load_model` entry point; the model directory is an artifact."""

    def __init__(self, tier_rule: dict | None = None, n_reasons: int = 3):
        self.tier_rule = tier_rule or {"rule": "probability"}
        self.n_reasons = n_reasons
        self.model: ChurnModel | None = None

    def load_context(self, context) -> None:
        from churn_assets.ml.models.registry import load_model

        self.model = load_model(context.artifacts["model_dir"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from churn_assets.ml.explain import explain
        from churn_assets.ml.reasons import reason_texts
        from churn_assets.ml.tiers import assign_tiers

        if self.model is None:
            raise RuntimeError("no model: load_context first")
        p = self.model.predict_proba(model_input)[:, 1]
        reasons = explain(self.model, model_input, k=self.n_reasons)
        return pd.DataFrame(
            {
                "churn_probability": p,
                "tier": assign_tiers(p, self.tier_rule),
                "reasons": ["; ".join(reason_texts(row)) for row in reasons],
            }
        )
