"""Logistic regression on the aggregate features (a scikit-learn Pipeline).

numeric     -> median imputation + missing indicator (for columns with missing values at fit) -> StandardScaler
categorical -> constant "missing" imputation -> OneHotEncoder(handle_unknown="ignore")
then LogisticRegression(C, class_weight).

Contributions are linear SHAP values: coef_j * (z_j - mean_train(z_j)) over the transformed columns z
(for standardised numeric columns mean_train(z_j) = 0, i.e. plain coef x standardised value),
summed back onto their source column (one-hot columns and missing indicators map to the column they
came from). The bias is intercept + coef . mean_train(z), so bias + row sum = logit(P(churn)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from churn_assets.ml.models.base import ChurnModel
from churn_assets.ml.models.registry import register_model


class LinearPipelineModel(ChurnModel):
    """Shared machinery for models that are a preprocessing pipeline + LogisticRegression."""

    default_params = {
        "features": None,
        "exclude": None,
        "C": 1.0,
        "class_weight": None,
        "max_iter": 2000,
    }

    def _transform_inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        """Hook: map prepared features to the pipeline's inputs (identity here)."""
        return X

    def _build_pipeline(self) -> Pipeline:
        parts = []
        if self.numeric_features_:
            num = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                    ("scale", StandardScaler()),
                ]
            )
            parts.append(("num", num, list(self.numeric_features_)))
        if self.categorical_features_:
            cat = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True)),
                    ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                ]
            )
            parts.append(("cat", cat, list(self.categorical_features_)))
        pre = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
        clf = LogisticRegression(
            C=float(self.params["C"]),
            class_weight=self.params["class_weight"],
            max_iter=int(self.params["max_iter"]),
        )
        return Pipeline([("pre", pre), ("clf", clf)])

    def _fit(self, X, y, eval_set) -> None:
        if len(np.unique(y)) < 2:
            raise ValueError(f"{self.name}: training labels have a single class")
        self.pipeline_ = self._build_pipeline()
        Xi = self._transform_inputs(X)
        self.pipeline_.fit(Xi, y)
        Z = self.pipeline_[:-1].transform(Xi)
        self.z_mean_ = Z.mean(axis=0)
        self.source_index_ = self._source_index()

    def _source_index(self) -> np.ndarray:
        """For every transformed column, the index of its source feature in feature_names_."""
        pos = {c: i for i, c in enumerate(self._check_fitted())}
        pre: ColumnTransformer = self.pipeline_.named_steps["pre"]
        out: list[int] = []
        if self.numeric_features_:
            imp: SimpleImputer = pre.named_transformers_["num"].named_steps["impute"]
            cols = list(self.numeric_features_)
            out += [pos[c] for c in cols]
            if imp.indicator_ is not None:
                out += [pos[cols[i]] for i in imp.indicator_.features_]
        if self.categorical_features_:
            enc: OneHotEncoder = pre.named_transformers_["cat"].named_steps["onehot"]
            for c, cats in zip(self.categorical_features_, enc.categories_, strict=False):
                out += [pos[c]] * len(cats)
        return np.asarray(out, dtype=int)

    def _predict_p1(self, X) -> np.ndarray:
        return self.pipeline_.predict_proba(self._transform_inputs(X))[:, 1]

    def _contributions(self, X):
        Z = self.pipeline_[:-1].transform(self._transform_inputs(X))
        clf: LogisticRegression = self.pipeline_.named_steps["clf"]
        coef = clf.coef_.ravel()
        per_col = (Z - self.z_mean_) * coef
        k = len(self._check_fitted())
        M = np.zeros((len(coef), k))
        M[np.arange(len(coef)), self.source_index_] = 1.0
        bias = float(clf.intercept_[0] + coef @ self.z_mean_)
        return per_col @ M, bias

    @property
    def coef_(self) -> pd.Series:
        """Coefficients per transformed (standardised / one-hot / indicator) column."""
        names = self.pipeline_.named_steps["pre"].get_feature_names_out()
        names = [n.split("__", 1)[-1] for n in names]
        return pd.Series(self.pipeline_.named_steps["clf"].coef_.ravel(), index=names)

    @property
    def intercept_(self) -> float:
        return float(self.pipeline_.named_steps["clf"].intercept_[0])


@register_model("logistic")
class LogisticChurnModel(LinearPipelineModel):
    """Logistic regression on all numeric + categorical feature columns."""
