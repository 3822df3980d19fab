"""Realized churn: how the risk lists of earlier days turned out once their horizon had passed.

Input is one row per (as_of_date, user_id) of a scored risk list with ``churn_probability``, ``tier``,
``model_version``, ``horizon_end``, ``measurable`` (the whole horizon lies inside the data),
``churned`` (realized label, None while not measurable) and ``days_since_last_order`` at the as-of
date (the recency baseline's score). ``day_outcome`` measures one day; ``realized_churn_trend`` builds
the trend table across days, with the days still inside their horizon listed as pending.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from churn_assets.ml.tiers import TIERS

TREND_COLUMNS = [
    "as_of_date",
    "horizon_end",
    "status",
    "model_version",
    "n_scored",
    "churn_rate",
    *[f"n_{t}" for t in TIERS],
    *[f"churn_rate_{t}" for t in TIERS],
    "roc_auc",
    "recency_roc_auc",
    "precision_high",
    "recency_precision_high",
    "lift_high",
]


def roc_auc_or_nan(y, score) -> float:
    """ROC-AUC, NaN when only one class happened (AUC is undefined then)."""
    y = np.asarray(y, dtype=int)
    return float(roc_auc_score(y, score)) if np.unique(y).size == 2 else float("nan")


def recency_score(days_since_last_order) -> np.ndarray:
    """The recency baseline: more days since the last paid order = more risk. A user with no paid
    order yet (possible when visits count as activity) ranks above everyone else."""
    s = np.asarray(days_since_last_order, dtype="float64")
    fill = (np.nanmax(s) + 1.0) if np.isfinite(s).any() else 0.0
    return np.where(np.isnan(s), fill, s)


def top_k_precision(y, score, k: int) -> float:
    """Churn rate among the k highest scores (ties broken by row order); NaN for k = 0."""
    if k <= 0:
        return float("nan")
    order = np.argsort(-np.asarray(score, dtype="float64"), kind="stable")[:k]
    return float(np.asarray(y, dtype=int)[order].mean())


def day_outcome(day: pd.DataFrame) -> dict:
    """Realized metrics of one day's risk list (every row measurable, `churned` 0/1).

    precision_high is the realized churn rate of the high tier; recency_precision_high is that of
    the same number of users ranked highest by days since their last order, so both contact lists
    have the same size."""
    if day.empty:
        raise ValueError("day_outcome needs at least one scored user")
    if day["churned"].isna().any():
        raise ValueError("day_outcome got users whose horizon has not passed (churned is missing)")
    y = day["churned"].astype(int).to_numpy()
    p = day["churn_probability"].astype("float64").to_numpy()
    recency = recency_score(day["days_since_last_order"])
    out: dict = {"n_scored": int(len(day)), "churn_rate": float(y.mean())}
    for tier in TIERS:
        in_tier = (day["tier"] == tier).to_numpy()
        out[f"n_{tier}"] = int(in_tier.sum())
        out[f"churn_rate_{tier}"] = float(y[in_tier].mean()) if in_tier.any() else float("nan")
    n_high = out["n_high"]
    out["roc_auc"] = roc_auc_or_nan(y, p)
    out["recency_roc_auc"] = roc_auc_or_nan(y, recency)
    out["precision_high"] = out["churn_rate_high"]
    out["recency_precision_high"] = top_k_precision(y, recency, n_high)
    out["lift_high"] = out["precision_high"] / out["churn_rate"] if out["churn_rate"] > 0 and n_high else float("nan")
    return out


def realized_churn_trend(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per scored day, oldest first: status 'measured' with the realized metrics, or
    'pending' (horizon not yet inside the data) with only the day, its horizon end and its size."""
    rows = []
    for as_of, day in outcomes.groupby("as_of_date", sort=True):
        measurable = day["measurable"].astype(bool)
        if measurable.nunique() > 1:
            raise ValueError(f"{as_of}: some users are measurable and some not; the horizon is per day")
        row = {
            "as_of_date": pd.Timestamp(as_of).date(),
            "horizon_end": pd.Timestamp(day["horizon_end"].iloc[0]).date(),
            "model_version": ",".join(sorted(day["model_version"].astype(str).unique())),
        }
        if measurable.iloc[0]:
            row.update(status="measured", **day_outcome(day))
        else:
            row.update(status="pending", n_scored=int(len(day)))
        rows.append(row)
    trend = pd.DataFrame(rows, columns=TREND_COLUMNS)
    counts = [c for c in TREND_COLUMNS if c.startswith("n_")]
    trend[counts] = trend[counts].astype("Int64")
    metrics = [
        c
        for c in TREND_COLUMNS
        if c not in counts and c not in ("as_of_date", "horizon_end", "status", "model_version")
    ]
    trend[metrics] = trend[metrics].astype("float64")
    return trend


def plot_realized_trend(trend: pd.DataFrame, path: str | Path) -> Path:
    """Two panels over the measured days: realized churn rate per tier, and ROC-AUC of the model vs
    the recency baseline."""
    measured = trend[trend["status"] == "measured"]
    fig = Figure(figsize=(10.0, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    x = pd.to_datetime(measured["as_of_date"])
    for tier, style in zip(TIERS, ("o-", "s-", "^-"), strict=False):
        left.plot(x, measured[f"churn_rate_{tier}"], style, label=f"{tier} tier")
    left.plot(x, measured["churn_rate"], "kx--", label="all scored")
    left.set_title("Realized churn rate per tier")
    left.set_ylabel("share churned within the horizon")
    left.set_ylim(0, 1)
    right.plot(x, measured["roc_auc"], "o-", label="champion")
    right.plot(x, measured["recency_roc_auc"], "s--", label="recency baseline")
    right.set_title("ROC-AUC on realized labels")
    right.set_ylim(0.4, 1)
    for ax in (left, right):
        ax.set_xlabel("risk list day")
        ax.grid(True, alpha=0.3)
        if len(measured):
            ax.legend(loc="best", fontsize=8)
        if x.nunique() > 1:
            locator = AutoDateLocator(maxticks=8)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        else:  # one day (or none): a date locator has no range to work with
            ax.set_xticks(list(x), [d.date().isoformat() for d in x])
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
