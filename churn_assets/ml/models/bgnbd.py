"""BG/NBD ("beta-geometric / negative binomial distribution", Fader, Hardie & Lee 2005).

Per customer: while alive, purchases follow a Poisson process with rate lambda ~ Gamma(r, alpha)
(shape r, rate alpha); after every repeat purchase the customer drops out with probability
p ~ Beta(a, b). Data per customer, in days: x = repeat purchases (orders after the first),
t_x = time of the last purchase measured from the first one (0 when x = 0), T = time from the first
purchase to the as-of date. Columns: ``bgnbd_frequency``, ``bgnbd_recency``, ``bgnbd_T`` (configurable).

The four parameters are fitted by maximum likelihood (scipy L-BFGS-B on bounded log-parameters, a
Nelder-Mead polish if it fails; identical (x, t_x, T) rows are pooled with weights). When the data hold
no information on dropout heterogeneity, a and b run to the bound together (``fit_info_['at_bound']``);
the ratio a / (a + b), and so the predictions, stay well defined. Labels are not used. Rows used for fitting:
``fit_rows="latest"`` (default) keeps one row per user, the latest ``as_of_date`` (each customer counted
once with their longest history); ``"all"`` uses every row given.

P(churn within horizon H) = P(no purchase in (T, T+H])
    = (1 - P_alive) + P_alive * ((alpha + T) / (alpha + T + H)) ** (r + x).

Missing inputs: x and t_x NaN -> 0; T NaN -> training median; t_x is clipped to [0, T].
Contributions: exact baseline-Shapley split of logit(P(churn)) over (x, t_x, T) against training medians.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

from churn_assets.ml.models.base import ChurnModel, as_float, exact_shapley, logit
from churn_assets.ml.models.registry import register_model

LOG_BOUNDS = (-10.0, 12.0)  # parameters are searched in log space, i.e. within [4.5e-5, 1.6e5]


def bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood (FHL 2005, eq. 6)."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    has = x > 0
    a4 = np.where(has, np.log(a) - np.log(np.where(has, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(x, t_x, T, weights=None, penalizer: float = 0.0, init=None) -> dict:
    """Maximum-likelihood (r, alpha, a, b); returns them with the mean log-likelihood and status."""
    data = np.column_stack([np.asarray(v, dtype="float64") for v in (x, t_x, T)])
    w = np.ones(len(data)) if weights is None else np.asarray(weights, dtype="float64")
    uniq, inv = np.unique(data, axis=0, return_inverse=True)
    w = np.bincount(inv.ravel(), weights=w, minlength=len(uniq))
    ux, ut, uT = uniq.T
    wsum = w.sum()
    if init is None:
        alpha0 = max(float(np.average(uT, weights=w)), 1.0) / max(float(np.average(ux, weights=w)), 0.1)
        init = (1.0, alpha0, 1.0, 1.0)
    theta0 = np.log(np.asarray(init, dtype="float64"))

    def nll(theta):
        r, alpha, a, b = np.exp(theta)
        ll = bgnbd_log_likelihood(r, alpha, a, b, ux, ut, uT)
        val = -(w @ ll) / wsum + penalizer * float(np.sum(np.exp(theta) ** 2))
        return val if np.isfinite(val) else 1e12

    theta0 = np.clip(theta0, *LOG_BOUNDS)
    best = minimize(nll, theta0, method="L-BFGS-B", bounds=[LOG_BOUNDS] * 4)
    if not best.success:  # rare: polish with a derivative-free search, kept inside the bounds
        nm = minimize(
            lambda th: nll(np.clip(th, *LOG_BOUNDS)),
            best.x,
            method="Nelder-Mead",
            options={"maxiter": 2000, "xatol": 1e-7, "fatol": 1e-11, "adaptive": True},
        )
        if nm.fun < best.fun:
            nm.x = np.clip(nm.x, *LOG_BOUNDS)
            best = nm
    r, alpha, a, b = np.exp(best.x)
    near = np.minimum(np.abs(best.x - LOG_BOUNDS[0]), np.abs(best.x - LOG_BOUNDS[1])) < 1e-3
    at_bound = [k for k, hit in zip(("r", "alpha", "a", "b"), near, strict=False) if hit]
    return {
        "r": float(r),
        "alpha": float(alpha),
        "a": float(a),
        "b": float(b),
        "mean_log_likelihood": float(-best.fun),
        "converged": bool(best.success),
        "at_bound": at_bound,
    }


def bgnbd_p_alive(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    has = x > 0
    log_ratio = np.log(a) - np.log(np.where(has, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(has, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700.0))), 1.0)


def bgnbd_p_no_purchase(r, alpha, a, b, H, x, t_x, T) -> np.ndarray:
    """P(no purchase in (T, T+H] | x, t_x, T)."""
    x, T = np.asarray(x, dtype="float64"), np.asarray(T, dtype="float64")
    pa = bgnbd_p_alive(r, alpha, a, b, x, t_x, T)
    return (1.0 - pa) + pa * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + H)))


def bgnbd_expected_purchases(r, alpha, a, b, H, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T+H] | x, t_x, T] (FHL 2005, eq. 10; needs a != 1)."""
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (x, t_x, T))
    z = H / (alpha + T + H)
    term = 1.0 - ((alpha + T) / (alpha + T + H)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1) * term
    has = x > 0
    den = 1.0 + np.where(has, a / np.where(has, b + x - 1, 1.0) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    return first / den


@register_model("bgnbd")
class BGNBDModel(ChurnModel):
    default_params = {
        "frequency_column": "bgnbd_frequency",
        "recency_column": "bgnbd_recency",
        "T_column": "bgnbd_T",
        "horizon_days": 30.0,
        "fit_rows": "latest",
        "penalizer": 0.0,
    }

    # ---- fitting --------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y=None, eval_set=None):
        """Fit (r, alpha, a, b) by maximum likelihood; ``y`` and ``eval_set`` are not used."""
        cols = [self.params["frequency_column"], self.params["recency_column"], self.params["T_column"]]
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise KeyError(f"bgnbd needs the columns {missing}")
        rows = X
        if self.params["fit_rows"] == "latest" and {"user_id", "as_of_date"} <= set(X.columns):
            order = X.sort_values(["user_id", "as_of_date"], kind="mergesort")
            rows = order.drop_duplicates("user_id", keep="last")
        elif self.params["fit_rows"] not in ("latest", "all"):
            raise ValueError("fit_rows must be 'latest' or 'all'")
        self.feature_names_ = cols
        self.numeric_features_, self.categorical_features_ = list(cols), []
        T_raw = as_float(rows[cols[2]])
        self.T_fill_ = float(np.nanmedian(T_raw)) if np.isfinite(T_raw).any() else 0.0
        x, t_x, T = self._inputs(self._prepare(rows))
        fitted = fit_bgnbd(x, t_x, T, penalizer=float(self.params["penalizer"]))
        self.r_, self.alpha_, self.a_, self.b_ = (fitted[k] for k in ("r", "alpha", "a", "b"))
        self.fit_info_ = {**fitted, "n_rows": int(len(rows))}
        self.baseline_ = np.array([np.median(x), np.median(t_x), np.median(T)])
        return self

    def _inputs(self, Xp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fc, rc, tc = self._check_fitted()
        x = np.clip(np.nan_to_num(Xp[fc].to_numpy(), nan=0.0), 0.0, None)
        T = Xp[tc].to_numpy()
        T = np.clip(np.where(np.isnan(T), self.T_fill_, T), 0.0, None)
        t_x = np.clip(np.nan_to_num(Xp[rc].to_numpy(), nan=0.0), 0.0, T)
        t_x = np.where(x > 0, t_x, 0.0)
        return x, t_x, T

    # ---- fitted parameters ----------------------------------------------------------------
    @property
    def r(self) -> float:
        return self.r_

    @property
    def alpha(self) -> float:
        return self.alpha_

    @property
    def a(self) -> float:
        return self.a_

    @property
    def b(self) -> float:
        return self.b_

    @property
    def fitted_params_(self) -> dict[str, float]:
        return {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}

    # ---- predictions ----------------------------------------------------------------------
    def _arrays(self, X, x, t_x, T):
        if X is not None:
            return self._inputs(self._prepare(X))
        return (np.asarray(v, dtype="float64") for v in (x, t_x, T))

    def p_alive(self, X: pd.DataFrame | None = None, *, x=None, t_x=None, T=None) -> np.ndarray:
        self._check_fitted()
        return bgnbd_p_alive(self.r_, self.alpha_, self.a_, self.b_, *self._arrays(X, x, t_x, T))

    def expected_purchases(self, H: float, X: pd.DataFrame | None = None, *, x=None, t_x=None, T=None) -> np.ndarray:
        """Expected purchases in the next H days, from a DataFrame X or arrays x, t_x, T."""
        self._check_fitted()
        return bgnbd_expected_purchases(self.r_, self.alpha_, self.a_, self.b_, H, *self._arrays(X, x, t_x, T))

    def p_churn(self, X: pd.DataFrame | None = None, *, H: float | None = None, x=None, t_x=None, T=None) -> np.ndarray:
        self._check_fitted()
        H = float(self.params["horizon_days"] if H is None else H)
        return bgnbd_p_no_purchase(self.r_, self.alpha_, self.a_, self.b_, H, *self._arrays(X, x, t_x, T))

    def _predict_p1(self, Xp) -> np.ndarray:
        return self._p_from_inputs(np.column_stack(self._inputs(Xp)))

    def _p_from_inputs(self, V: np.ndarray) -> np.ndarray:
        x, t_x, T = V[:, 0], np.minimum(V[:, 1], V[:, 2]), V[:, 2]
        H = float(self.params["horizon_days"])
        return bgnbd_p_no_purchase(self.r_, self.alpha_, self.a_, self.b_, H, x, np.where(x > 0, t_x, 0.0), T)

    def _contributions(self, Xp):
        V = np.column_stack(self._inputs(Xp))
        phi, base = exact_shapley(lambda M: logit(self._p_from_inputs(M)), V, self.baseline_)
        return phi, base
