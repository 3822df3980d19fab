"""Threshold rules: turn churn scores into a contact / no-contact decision (flag when p >= threshold).

Rules (``choose_threshold(rule, y, p, **params)``):

* ``"fixed"``     ``threshold`` (default 0.5).
* ``"best_f1"``   the score threshold that maximises F1 on (y, p).
* ``"cost"``      the threshold that maximises expected profit of a retention campaign: each contacted
                  customer costs ``contact_cost``; a contacted churner is saved with probability
                  ``success_rate`` and is then worth ``value_saved``. When no threshold makes a profit the
                  rule returns a threshold just above the highest score (contact nobody).
* ``"top_share"`` the score of the ceil(share * n)-th highest row (contact the top ``share``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from sklearn.metrics import precision_recall_curve


def _arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype="float64").ravel()
    p = np.asarray(p, dtype="float64").ravel()
    if y.shape != p.shape or y.size == 0:
        raise ValueError("y and p must be non-empty and of equal length")
    return y, p


def _above_max(p: np.ndarray) -> float:
    return float(np.nextafter(p.max(), np.inf))


def best_f1_threshold(y, p) -> float:
    """Threshold maximising F1 (ties -> the highest such threshold)."""
    y, p = _arrays(y, p)
    if y.sum() == 0:
        return _above_max(p)
    prec, rec, thr = precision_recall_curve(y, p)
    prec, rec = prec[:-1], rec[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
    best = np.flatnonzero(f1 == f1.max())
    return float(thr[best].max())


def profit_curve(y, p, contact_cost: float, value_saved: float, success_rate: float):
    """(thresholds descending = unique scores, expected profit when contacting p >= threshold)."""
    y, p = _arrays(y, p)
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    gain = ys * success_rate * value_saved - contact_cost
    cum = np.cumsum(gain)
    last = np.r_[ps[1:] != ps[:-1], True]  # last row of each group of tied scores
    return ps[last], cum[last]


def expected_profit(y, p, threshold: float, contact_cost: float, value_saved: float, success_rate: float) -> float:
    y, p = _arrays(y, p)
    hit = p >= threshold
    return float((y[hit] * success_rate * value_saved - contact_cost).sum())


def cost_threshold(y, p, contact_cost: float = 1.0, value_saved: float = 50.0, success_rate: float = 0.2) -> float:
    """Threshold maximising expected profit (see module doc); contact nobody when nothing pays."""
    if contact_cost < 0 or value_saved < 0 or not 0 <= success_rate <= 1:
        raise ValueError("contact_cost, value_saved >= 0 and 0 <= success_rate <= 1 required")
    y, p = _arrays(y, p)
    thr, profit = profit_curve(y, p, contact_cost, value_saved, success_rate)
    i = int(np.argmax(profit))
    return float(thr[i]) if profit[i] > 0 else _above_max(p)


def top_share_threshold(y, p, share: float = 0.1) -> float:
    """Score of the ceil(share * n)-th highest row (``y`` is not used)."""
    p = np.asarray(p, dtype="float64").ravel()
    if p.size == 0:
        raise ValueError("p must be non-empty")
    if share <= 0:
        return _above_max(p)
    k = min(max(int(math.ceil(share * p.size - 1e-9)), 1), p.size)
    return float(np.sort(p)[::-1][k - 1])


def fixed_threshold(y, p, threshold: float = 0.5) -> float:
    return float(threshold)


THRESHOLD_RULES: dict[str, Callable[..., float]] = {
    "fixed": fixed_threshold,
    "best_f1": best_f1_threshold,
    "f1": best_f1_threshold,
    "cost": cost_threshold,
    "profit": cost_threshold,
    "top_share": top_share_threshold,
}


def choose_threshold(rule: str, y, p, **params) -> float:
    try:
        fn = THRESHOLD_RULES[rule]
    except KeyError:
        raise ValueError(f"unknown threshold rule {rule!r}; one of {sorted(THRESHOLD_RULES)}") from None
    return fn(y, p, **params)
