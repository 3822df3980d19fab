"""Probability calibration on the validation window, wrapping any fitted ChurnModel.

    cal = CalibratedModel(fitted_gbt, method="isotonic").calibrate(X_valid, y_valid)

``isotonic``: IsotonicRegression on P(churn) (clipped outside the fitted range).
``sigmoid``: Platt scaling, a 1-d logistic regression on logit(P(churn)).
``fit(X, y, eval_set=(Xv, yv))`` fits a clone of the base on (X, y) and calibrates on the eval set;
``calibrate`` uses the given base as it is (already fitted).
Contributions delegate to the base model (calibration is monotone, so the ranking of reasons holds).
Saved as a directory: the base in ``base/`` (its own save format) and the calibrator in ``model.joblib``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from churn_assets.ml.models.base import STATE_FILE, ChurnModel, as_label_array, logit, proba_matrix

METHODS = ("isotonic", "sigmoid")


class CalibratedModel(ChurnModel):
    """``base`` is a parameter (a ChurnModel); the model that predicts is ``base_``: a fitted clone of
    ``base`` after ``fit``, or ``base`` itself (already fitted) after ``calibrate``."""

    base_: ChurnModel | None = None
    calibrator_: Any = None

    def __init__(self, base: ChurnModel, method: str = "isotonic") -> None:
        self.base = base
        self.method = method

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.base.name}_calibrated"

    @property
    def feature_names_(self) -> list[str] | None:  # type: ignore[override]
        return None if self.base_ is None else self.base_.feature_names_

    @property
    def params(self) -> dict[str, Any]:  # flat, for MLflow
        out = {"method": self.method, "base_model": self.base.name}
        out.update({f"base.{k}": v for k, v in self.base.params.items()})
        return out

    def __sklearn_is_fitted__(self) -> bool:
        return self.calibrator_ is not None

    def _fitted_base(self) -> ChurnModel:
        """``base_``, set by fit, calibrate and load."""
        if self.base_ is None:
            raise RuntimeError("call fit or calibrate first")
        return self.base_

    def fit(self, X: pd.DataFrame, y, eval_set=None):
        self.base_ = clone(self.base).fit(X, y, eval_set=eval_set)
        if eval_set is not None:
            self._calibrate(*eval_set)
        return self

    def calibrate(self, X_valid: pd.DataFrame, y_valid) -> CalibratedModel:
        """Calibrate the already fitted ``base`` on the validation window."""
        self.base_ = self.base
        return self._calibrate(X_valid, y_valid)

    def _calibrate(self, X_valid: pd.DataFrame, y_valid) -> CalibratedModel:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}")
        y = as_label_array(y_valid)
        if len(np.unique(y)) < 2:
            raise ValueError("calibration needs both classes in the validation labels")
        p = self._fitted_base().predict_proba(X_valid)[:, 1]
        if self.method == "isotonic":
            cal = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            cal.fit(p, y)
        else:
            cal = LogisticRegression(C=1e6, max_iter=1000)
            cal.fit(logit(p).reshape(-1, 1), y)
        self.calibrator_ = cal
        return self

    def _calibrate_p(self, p: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            return np.asarray(self.calibrator_.predict(p), dtype="float64")
        return self.calibrator_.predict_proba(logit(p).reshape(-1, 1))[:, 1]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.calibrator_ is None:
            raise RuntimeError("call calibrate(X_valid, y_valid) first")
        return proba_matrix(self._calibrate_p(self._fitted_base().predict_proba(X)[:, 1]))

    def contributions(self, X: pd.DataFrame, include_bias: bool = False) -> pd.DataFrame:
        return self._fitted_base().contributions(X, include_bias=include_bias)

    def save(self, path: str | Path) -> Path:
        if self.calibrator_ is None:
            raise RuntimeError("call calibrate first")
        return super().save(path)

    def _save_state(self, path: Path) -> None:
        self._fitted_base().save(path / "base")
        joblib.dump({"method": self.method, "calibrator": self.calibrator_, "name": self.name}, path / STATE_FILE)

    @classmethod
    def _load_state(cls, path: Path) -> CalibratedModel:
        state = joblib.load(path / STATE_FILE)
        obj = cls(ChurnModel.load(path / "base"), method=state["method"])
        obj.base_ = obj.base
        obj.calibrator_ = state["calibrator"]
        return obj
