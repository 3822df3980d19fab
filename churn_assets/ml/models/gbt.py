"""Gradient-boosted trees (LightGBM LGBMClassifier) on the aggregate features.

Categorical columns are passed as pandas ``category`` with the category list frozen at fit time
(unseen values at prediction become missing). NaN stays NaN (LightGBM routes it natively).
``fit(X, y, eval_set=(Xv, yv))`` enables early stopping on the validation log-loss.
Contributions are TreeSHAP values in log-odds (``pred_contrib=True``); bias + row sum = logit(p).
Deterministic for a given ``seed`` (``deterministic=True``, fixed thread count).
"""

from __future__ import annotations

from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd

from churn_assets.ml.models.base import ChurnModel
from churn_assets.ml.models.registry import register_model


@register_model("gbt")
class GBTChurnModel(ChurnModel):
    default_params = {
        "features": None,
        "exclude": None,
        "n_estimators": 500,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "max_depth": -1,
        "min_child_samples": 20,
        "subsample": 0.8,
        "colsample": 0.8,
        "reg_lambda": 0.0,
        "class_weight": None,
        "early_stopping_rounds": 50,
        "seed": 0,
        "n_jobs": 2,
    }

    def _lgb_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X.copy()
        for c in self.categorical_features_:
            out[c] = pd.Categorical(X[c], categories=self.categories_[c])
        return out

    def _fit(self, X, y, eval_set) -> None:
        if len(np.unique(y)) < 2:
            raise ValueError("gbt: training labels have a single class")
        self.categories_ = {c: sorted(pd.unique(X[c].dropna()).tolist()) for c in self.categorical_features_}
        p = self.params
        self.estimator_ = lgb.LGBMClassifier(
            n_estimators=int(p["n_estimators"]),
            learning_rate=float(p["learning_rate"]),
            num_leaves=int(p["num_leaves"]),
            max_depth=int(p["max_depth"]),
            min_child_samples=int(p["min_child_samples"]),
            subsample=float(p["subsample"]),
            subsample_freq=1 if p["subsample"] < 1 else 0,
            colsample_bytree=float(p["colsample"]),
            reg_lambda=float(p["reg_lambda"]),
            class_weight=p["class_weight"],
            random_state=int(p["seed"]),
            n_jobs=int(p["n_jobs"]),
            deterministic=True,
            force_col_wise=True,
            verbosity=-1,
        )
        kwargs: dict[str, Any] = {}
        if eval_set is not None:
            Xv, yv = eval_set
            kwargs["eval_X"] = (self._lgb_frame(Xv),)
            kwargs["eval_y"] = (yv,)
            kwargs["eval_metric"] = "binary_logloss"
            if p["early_stopping_rounds"]:
                kwargs["callbacks"] = [lgb.early_stopping(int(p["early_stopping_rounds"]), verbose=False)]
        cat: list[str] | Literal["auto"] = list(self.categorical_features_) or "auto"
        self.estimator_.fit(self._lgb_frame(X), y, categorical_feature=cat, **kwargs)
        self.best_iteration_ = int(self.estimator_.best_iteration_ or self.estimator_.n_estimators)

    def _predict_p1(self, X) -> np.ndarray:
        return np.asarray(self.estimator_.predict_proba(self._lgb_frame(X)))[:, 1]

    def _contributions(self, X):
        c = np.asarray(self.estimator_.predict(self._lgb_frame(X), pred_contrib=True))
        return c[:, :-1], c[:, -1]

    @property
    def feature_importances_(self) -> pd.Series:
        """Total gain per feature."""
        gain = self.estimator_.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.feature_names_).sort_values(ascending=False)
