"""Binary classification metrics for churn scores.

``binary_metrics(y_true, p, threshold)`` returns plain floats (ready for MLflow ``log_metrics``):
accuracy, precision, recall, f1 at the threshold (a row is flagged when p >= threshold);
roc_auc, pr_auc (average precision), brier; lift_top10 (churn rate among the top 10% by score over the
base rate) and capture_top10 (share of all churners found in that top 10%); base_rate, n, threshold.
The top share holds ceil(share * n) rows, ranked by score with ties broken by row order (stable sort).
Undefined values (AUC with a single class, lift with no churners) are NaN.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)


def _arrays(y_true, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype="float64").ravel()
    s = np.asarray(p, dtype="float64").ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true has {y.size} values but p has {s.size}")
    if np.isnan(y).any() or np.isnan(s).any():
        raise ValueError("y_true and p must not contain NaN")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must be 0/1")
    return y.astype(int), s


def top_share_mask(p, share: float) -> np.ndarray:
    """Boolean mask of the ceil(share * n) highest scores (stable: earlier rows win ties)."""
    s = np.asarray(p, dtype="float64").ravel()
    k = int(math.ceil(share * s.size - 1e-9))
    mask = np.zeros(s.size, dtype=bool)
    if k > 0:
        mask[np.argsort(-s, kind="stable")[:k]] = True
    return mask


def capture_at(y_true, p, share: float = 0.1) -> float:
    """Share of all churners that fall in the top ``share`` of scores."""
    y, s = _arrays(y_true, p)
    total = y.sum()
    return float(y[top_share_mask(s, share)].sum() / total) if total else float("nan")


def lift_at(y_true, p, share: float = 0.1) -> float:
    """Churn rate in the top ``share`` of scores divided by the overall churn rate."""
    y, s = _arrays(y_true, p)
    base = y.mean() if y.size else float("nan")
    mask = top_share_mask(s, share)
    if not y.size or base == 0 or not mask.any():
        return float("nan")
    return float(y[mask].mean() / base)


def binary_metrics(y_true, p, threshold: float = 0.5) -> dict[str, float]:
    y, s = _arrays(y_true, p)
    pred = (s >= threshold).astype(int)
    both = np.unique(y).size == 2
    out = {
        "accuracy": float(accuracy_score(y, pred)) if y.size else float("nan"),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(y, s)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, s)) if y.sum() > 0 else float("nan"),
        "brier": float(brier_score_loss(y, s)) if y.size else float("nan"),
        "lift_top10": lift_at(y, s, 0.1),
        "capture_top10": capture_at(y, s, 0.1),
        "base_rate": float(y.mean()) if y.size else float("nan"),
        "n": float(y.size),
        "threshold": float(threshold),
    }
    return out


def gains_curve(y_true, p) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative gains: (share of rows contacted, share of churners captured), starting at (0, 0)."""
    y, s = _arrays(y_true, p)
    order = np.argsort(-s, kind="stable")
    hits = np.cumsum(y[order])
    total = hits[-1] if hits.size else 0
    x = np.arange(0, y.size + 1) / max(y.size, 1)
    g = np.concatenate([[0.0], hits / total]) if total else np.zeros(y.size + 1)
    return x, g


def calibration_table(y_true, p, n_bins: int = 10, strategy: str = "uniform") -> dict[str, np.ndarray]:
    """Mean predicted vs observed churn rate per bin (empty bins dropped)."""
    y, s = _arrays(y_true, p)
    if strategy == "quantile":
        edges = np.unique(np.quantile(s, np.linspace(0, 1, n_bins + 1)))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, len(edges) - 2)
    count = np.bincount(idx, minlength=len(edges) - 1)
    keep = count > 0
    mean_p = np.bincount(idx, weights=s, minlength=len(edges) - 1)[keep] / count[keep]
    rate = np.bincount(idx, weights=y, minlength=len(edges) - 1)[keep] / count[keep]
    return {"mean_predicted": mean_p, "observed_rate": rate, "count": count[keep]}
