"""The ChurnModel base class: a scikit-learn-like estimator over a feature DataFrame.

Every model

* takes a pandas DataFrame with one row per (user_id, as_of_date); feature columns are numeric
  (NaN allowed; booleans count as numeric) or categorical (object / string / category dtype);
* chooses its feature columns at ``fit`` (``features=[...]`` to pin them, otherwise every numeric
  or categorical column except ``NON_FEATURE_COLUMNS`` and ``exclude=[...]``) and remembers them in
  ``feature_names_``; at prediction time missing feature columns are added as NaN (with a warning)
  and extra columns are ignored;
* returns ``predict_proba(X)`` of shape (n, 2), column 1 = P(churn);
* returns ``contributions(X)``: per-row log-odds contributions, one column per source feature;
* follows scikit-learn's estimator contract: constructor parameters are keyword arguments stored
  unchanged under their own names (``get_params`` / ``set_params`` / ``sklearn.base.clone`` /
  ``GridSearchCV`` work), fitted state ends in ``_``, and it is a classifier (``classes_`` = [0, 1],
  ``predict`` returns labels);
* saves to / loads from a directory: ``model.json`` (name, class, params, features) plus the state
  written by ``_save_state`` (default: the pickled estimator in ``model.joblib``). Subclasses whose
  state does not pickle well (torch models) override ``_save_state`` / ``_load_state``.
"""

from __future__ import annotations

import importlib
import itertools
import json
import keyword
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

NON_FEATURE_COLUMNS: tuple[str, ...] = (
    "user_id",
    "as_of_date",
    "churned",
    "label",
    "split",
    "horizon_days",
    "lookback_days",
    "event_tokens",  # the behaviour sequence: read by the BERT models only
)
META_FILE = "model.json"
STATE_FILE = "model.joblib"
FORMAT_VERSION = 1


def is_numeric_column(s: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(s) or (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_complex_dtype(s))


def is_categorical_column(s: pd.Series) -> bool:
    if is_numeric_column(s) or pd.api.types.is_datetime64_any_dtype(s):
        return False
    if pd.api.types.is_timedelta64_dtype(s):
        return False
    return (
        isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)
    )


def infer_feature_columns(
    X: pd.DataFrame, features: Sequence[str] | None = None, exclude: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """Return (numeric, categorical) feature column names of X, in X's column order."""
    if features is not None:
        missing = [c for c in features if c not in X.columns]
        if missing:
            raise KeyError(f"feature columns not in the data: {missing}")
        cols = list(features)
    else:
        skip = set(NON_FEATURE_COLUMNS) | set(exclude)
        cols = [c for c in X.columns if c not in skip]
    numeric = [c for c in cols if is_numeric_column(X[c])]
    categorical = [c for c in cols if c not in numeric and is_categorical_column(X[c])]
    if features is not None:
        other = [c for c in cols if c not in numeric and c not in categorical]
        if other:
            raise TypeError(f"feature columns neither numeric nor categorical: {other}")
    return numeric, categorical


def as_float(s: pd.Series) -> np.ndarray:
    """A numeric/bool column as float64 with NaN for missing (handles nullable dtypes)."""
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def as_str_object(s: pd.Series) -> np.ndarray:
    """A categorical column as an object array of str, np.nan where missing."""
    out = s.astype(object).to_numpy(copy=True)
    na = pd.isna(out)
    out[~na] = [str(v) for v in out[~na]]
    out[na] = np.nan
    return out


def as_label_array(y: Any) -> np.ndarray:
    arr = np.asarray(y, dtype="float64").ravel()
    if np.isnan(arr).any():
        raise ValueError("labels contain missing values")
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError("labels must be 0/1")
    return arr.astype(int)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype="float64"), 1e-9, 1 - 1e-9)
    return np.log(p) - np.log1p(-p)


def proba_matrix(p1: np.ndarray) -> np.ndarray:
    p1 = np.clip(np.asarray(p1, dtype="float64").ravel(), 0.0, 1.0)
    return np.column_stack([1.0 - p1, p1])


def exact_shapley(
    fn: Callable[[np.ndarray], np.ndarray], values: np.ndarray, baseline: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact baseline Shapley values of ``fn`` for a few (k <= ~6) inputs, vectorised over rows.

    ``fn`` maps an (n, k) array to (n,) outputs; the "absent" value of input j is ``baseline[j]``.
    Returns (phi of shape (n, k), fn(baseline) of shape (n,)); phi sums to fn(values) - fn(baseline).
    """
    values = np.asarray(values, dtype="float64")
    n, k = values.shape
    cache: dict[frozenset, np.ndarray] = {}

    def f(subset: frozenset) -> np.ndarray:
        if subset not in cache:
            mixed = np.broadcast_to(np.asarray(baseline, dtype="float64"), (n, k)).copy()
            idx = list(subset)
            mixed[:, idx] = values[:, idx]
            cache[subset] = fn(mixed)
        return cache[subset]

    phi = np.zeros((n, k))
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for size in range(k):
            w = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            for comb in itertools.combinations(others, size):
                s = frozenset(comb)
                phi[:, j] += w * (f(s | {j}) - f(s))
    return phi, f(frozenset())


def keyword_init(qualname: str, defaults: dict[str, Any]) -> Callable[..., None]:
    """``__init__(self, *, name=default, ...)`` storing every parameter unchanged under its own name.

    Generated from ``default_params`` the way ``dataclasses`` generates ``__init__``, so the signature is
    real (scikit-learn's get_params and clone read it; an unknown name is a TypeError) and the defaults
    are written once, also for models that share another's parameters (the hybrid has the GBT's).
    """
    bad = [k for k in defaults if not k.isidentifier() or keyword.iskeyword(k)]
    if bad:
        raise TypeError(f"{qualname}: parameter names must be identifiers: {bad}")
    args = ", ".join(f"{k}=_defaults[{k!r}]" for k in defaults)
    body = "".join(f"    self.{k} = {k}\n" for k in defaults) or "    pass\n"
    namespace: dict[str, Any] = {}
    exec(f"def __init__(self{', *, ' + args if args else ''}):\n{body}", {"_defaults": defaults}, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    return init


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Base class; subclasses set ``default_params`` and implement ``_fit``/``_predict_p1``.

    A subclass that sets ``default_params`` and no ``__init__`` gets one generated from them
    (``keyword_init``). Fitted attributes default to ``None`` on the class, so that an unfitted model's
    ``__dict__`` holds its parameters only.
    """

    name: ClassVar[str] = "base"
    default_params: ClassVar[dict[str, Any]] = {"features": None, "exclude": None}
    feature_names_: list[str] | None = None
    numeric_features_: Sequence[str] = ()
    categorical_features_: Sequence[str] = ()

    def __init__(self, *, features: Sequence[str] | None = None, exclude: Sequence[str] | None = None) -> None:
        self.features = features
        self.exclude = exclude

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "default_params" in cls.__dict__ and "__init__" not in cls.__dict__:
            # a generated __init__, the way dataclasses makes one; mypy forbids assigning to a method
            cls.__init__ = keyword_init(cls.__qualname__, cls.default_params)  # type: ignore[method-assign]

    @property
    def params(self) -> dict[str, Any]:
        """The parameters that are plain values: what model.json holds and MLflow logs. Nested models
        (a hybrid's encoder) are saved in directories of their own."""
        return self._saved_params()

    @property
    def classes_(self) -> np.ndarray:
        if not self.__sklearn_is_fitted__():
            raise AttributeError(f"{self.name}: classes_ exists after fit")
        return np.array([0, 1])

    def __sklearn_is_fitted__(self) -> bool:
        return self.feature_names_ is not None

    def __setstate__(self, state: dict[str, Any]) -> None:
        legacy = state.pop("params", None)  # pickled before the scikit-learn contract: one params dict
        if isinstance(legacy, dict):
            state = {**legacy, **state}
        super().__setstate__(state)

    # ---- public API ---------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any, eval_set: tuple[pd.DataFrame, Any] | None = None):
        self._select_features(X)
        y_arr = as_label_array(y)
        if len(y_arr) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y_arr)}")
        ev = None
        if eval_set is not None:
            Xv, yv = eval_set
            ev = (self._prepare(Xv), as_label_array(yv))
        self._fit(self._prepare(X), y_arr, ev)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        return proba_matrix(self._predict_p1(self._prepare(X)))

    def predict_churn(self, X: pd.DataFrame) -> np.ndarray:
        """P(churn) as a 1-d array (column 1 of predict_proba)."""
        return self.predict_proba(X)[:, 1]

    def predict(self, X: pd.DataFrame, threshold: float = 0.5) -> np.ndarray:
        return (self.predict_churn(X) >= threshold).astype(int)

    def contributions(self, X: pd.DataFrame, include_bias: bool = False) -> pd.DataFrame:
        """Per-row log-odds contributions, one column per feature in ``feature_names_``.

        With ``include_bias`` a ``bias`` column is added; for models whose contributions are exact
        the row sum then equals logit(P(churn)) (GBT, logistic, recency rule, BG/NBD).
        """
        names = self._check_fitted()
        Xp = self._prepare(X)
        contrib, bias = self._contributions(Xp)
        df = pd.DataFrame(contrib, index=X.index, columns=list(names))
        if include_bias:
            df["bias"] = np.broadcast_to(np.asarray(bias, dtype="float64"), (len(df),))
        return df

    def save(self, path: str | Path) -> Path:
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {
            "name": self.name,
            "class": f"{type(self).__module__}:{type(self).__qualname__}",
            "format_version": FORMAT_VERSION,
            "params": self._saved_params(),
            "feature_names": self.feature_names_,
        }
        (path / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
        self._save_state(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ChurnModel:
        path = Path(path)
        meta = json.loads((path / META_FILE).read_text())
        module, _, qualname = meta["class"].partition(":")
        klass: Any = importlib.import_module(module)
        for part in qualname.split("."):
            klass = getattr(klass, part)
        obj = klass._load_state(path)
        if not isinstance(obj, cls):
            raise TypeError(f"{path} holds a {type(obj).__name__}, not a {cls.__name__}")
        return obj

    # ---- hooks for subclasses -----------------------------------------------------------
    def _saved_params(self) -> dict[str, Any]:
        """model.json's params: ``get_params()`` less nested models, which save themselves."""
        return {k: v for k, v in self.get_params(deep=False).items() if not isinstance(v, BaseEstimator)}

    def _select_features(self, X: pd.DataFrame) -> None:
        features = getattr(self, "features", None)
        num, cat = infer_feature_columns(X, features, getattr(self, "exclude", None) or ())
        if not num and not cat:
            raise ValueError(f"{self.name}: no usable feature columns")
        self.numeric_features_, self.categorical_features_ = num, cat
        if features is not None:
            self.feature_names_ = list(features)
        else:
            chosen = set(num) | set(cat)
            self.feature_names_ = [c for c in X.columns if c in chosen]

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """Feature columns in fit order; numerics as float64, categoricals as str objects."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a pandas DataFrame")
        names = self._check_fitted()  # set by fit (_select_features) before it prepares X
        missing = [c for c in names if c not in X.columns]
        if missing:
            warnings.warn(f"{self.name}: feature columns missing, filled with NaN: {missing}", stacklevel=3)
        cat = set(self.categorical_features_)
        data = {}
        for c in names:
            if c not in X.columns:
                data[c] = np.full(len(X), np.nan, dtype=object if c in cat else "float64")
            else:
                data[c] = as_str_object(X[c]) if c in cat else as_float(X[c])
        return pd.DataFrame(data, index=X.index, columns=list(names))

    def _fit(self, X: pd.DataFrame, y: np.ndarray, eval_set) -> None:
        raise NotImplementedError

    def _predict_p1(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def _contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | float]:
        raise NotImplementedError(f"{self.name} has no contributions")

    def _save_state(self, path: Path) -> None:
        joblib.dump(self, path / STATE_FILE)

    @classmethod
    def _load_state(cls, path: Path) -> ChurnModel:
        return joblib.load(path / STATE_FILE)

    def _check_fitted(self) -> list[str]:
        """The fitted model's feature_names_; RuntimeError before fit."""
        if self.feature_names_ is None:
            raise RuntimeError(f"{self.name}: call fit first")
        return self.feature_names_
