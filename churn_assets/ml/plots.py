"""Evaluation figures written as PNG files, several models on one figure.

Every function takes ``curves: dict[model_name, (y_true, p)]`` and an output ``path`` and returns the
path. Figures are drawn with matplotlib's object API on an Agg canvas, so no global pyplot state or
display backend is touched (safe inside Dagster runs and threads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from churn_assets.ml.metrics import calibration_table, gains_curve

Curves = Mapping[str, tuple[Sequence[float], Sequence[float]]]


def _figure(title: str, xlabel: str, ylabel: str):
    fig = Figure(figsize=(6.0, 5.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _save(fig: Figure, ax, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _arrays(pair) -> tuple[np.ndarray, np.ndarray]:
    y, p = pair
    return np.asarray(y, dtype=int).ravel(), np.asarray(p, dtype="float64").ravel()


def plot_roc(curves: Curves, path: str | Path, title: str = "ROC curve") -> Path:
    fig, ax = _figure(title, "false positive rate", "true positive rate")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    for name, pair in curves.items():
        y, p = _arrays(pair)
        if np.unique(y).size < 2:
            continue
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, lw=1.5, label=f"{name} (AUC {roc_auc_score(y, p):.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    return _save(fig, ax, path)


def plot_precision_recall(curves: Curves, path: str | Path, title: str = "Precision-recall curve") -> Path:
    fig, ax = _figure(title, "recall", "precision")
    base = None
    for name, pair in curves.items():
        y, p = _arrays(pair)
        if y.sum() == 0:
            continue
        prec, rec, _ = precision_recall_curve(y, p)
        ax.step(rec, prec, where="post", lw=1.5, label=f"{name} (AP {average_precision_score(y, p):.3f})")
        base = y.mean()
    if base is not None:
        ax.axhline(base, ls="--", color="grey", lw=1, label=f"base rate {base:.3f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    return _save(fig, ax, path)


def plot_calibration(
    curves: Curves, path: str | Path, n_bins: int = 10, title: str = "Calibration (reliability)"
) -> Path:
    fig, ax = _figure(title, "mean predicted P(churn)", "observed churn rate")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect")
    for name, pair in curves.items():
        y, p = _arrays(pair)
        if y.size == 0:
            continue
        t = calibration_table(y, p, n_bins=n_bins)
        ax.plot(t["mean_predicted"], t["observed_rate"], marker="o", ms=3, lw=1.5, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    return _save(fig, ax, path)


def plot_gains(curves: Curves, path: str | Path, title: str = "Cumulative gains") -> Path:
    fig, ax = _figure(title, "share of customers contacted (by score)", "share of churners captured")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="random")
    for name, pair in curves.items():
        y, p = _arrays(pair)
        if y.sum() == 0:
            continue
        x, g = gains_curve(y, p)
        ax.plot(x, g, lw=1.5, label=name)
    ax.axvline(0.1, color="grey", lw=0.8, alpha=0.5)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    return _save(fig, ax, path)


def plot_all(curves: Curves, out_dir: str | Path, prefix: str = "") -> dict[str, Path]:
    """All four figures into ``out_dir``: {kind: path} with kinds roc, pr, calibration, gains."""
    out_dir = Path(out_dir)
    return {
        "roc": plot_roc(curves, out_dir / f"{prefix}roc.png"),
        "pr": plot_precision_recall(curves, out_dir / f"{prefix}pr.png"),
        "calibration": plot_calibration(curves, out_dir / f"{prefix}calibration.png"),
        "gains": plot_gains(curves, out_dir / f"{prefix}gains.png"),
    }
