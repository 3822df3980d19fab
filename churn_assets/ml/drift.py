"""Population stability index (PSI): how far a current distribution has moved from a reference one.

PSI = sum over bins of (c_i - r_i) * ln(c_i / r_i), with r_i and c_i the shares of the reference and
current values in bin i. Bins are cut at the reference's quantiles, so each holds about the same share
of the reference; a value outside the reference's range falls into the outer bins. Missing values get
a bin of their own, so a feature that starts arriving empty reads as drift too. Shares are floored at
`eps` so an empty bin gives a large but finite term. Common reading: < 0.1 stable, 0.1-0.2 moderate,
> 0.2 a shift worth acting on.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

DEFAULT_BINS = 10
DEFAULT_EPS = 1e-4


def bin_edges(reference: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """Interior cut points: the distinct reference quantiles at 1/bins, 2/bins, ... (none for a constant)."""
    values = reference[~np.isnan(reference)]
    if len(values) == 0:
        return np.array([])
    # repeated quantiles (a count that is mostly 0) merge into one bin holding that value
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of `values` in the bins (-inf, e1], (e1, e2], ..., (ek, inf), then the missing-value bin."""
    values = np.asarray(values, dtype="float64")
    missing = np.isnan(values)
    counts = np.bincount(np.searchsorted(edges, values[~missing], side="left"), minlength=len(edges) + 1)
    counts = np.append(counts, missing.sum()).astype("float64")
    return counts / max(len(values), 1)


def as_floats(values: Iterable) -> np.ndarray:
    """Numbers as float64; None, NaN, pd.NA and non-numbers become NaN (missing)."""
    return pd.to_numeric(pd.Series(np.asarray(list(values), dtype=object)), errors="coerce").to_numpy(dtype="float64")


def psi(reference: Iterable, current: Iterable, bins: int = DEFAULT_BINS, eps: float = DEFAULT_EPS) -> float:
    """Population stability index of `current` against `reference` (numbers; NaN / None = missing)."""
    ref, cur = as_floats(reference), as_floats(current)
    if len(ref) == 0 or len(cur) == 0:
        raise ValueError(f"PSI needs values on both sides (reference {len(ref)}, current {len(cur)})")
    edges = bin_edges(ref, bins)
    r = np.maximum(bin_shares(ref, edges), eps)
    c = np.maximum(bin_shares(cur, edges), eps)
    return float(np.sum((c - r) * np.log(c / r)))


def psi_table(
    reference: pd.DataFrame, current: pd.DataFrame, columns: Iterable[str], bins: int = DEFAULT_BINS
) -> pd.DataFrame:
    """One row per column present in both frames: column, psi, reference and current row counts and
    missing shares, sorted by PSI (largest first)."""
    rows = []
    for col in columns:
        if col not in reference.columns or col not in current.columns:
            continue
        ref, cur = as_floats(reference[col]), as_floats(current[col])
        rows.append(
            {
                "column": col,
                "psi": psi(ref, cur, bins=bins),
                "reference_rows": len(reference),
                "current_rows": len(current),
                "reference_missing_share": float(np.isnan(ref).mean()),
                "current_missing_share": float(np.isnan(cur).mean()),
                "reference_mean": float(np.nanmean(ref)) if (~np.isnan(ref)).any() else float("nan"),
                "current_mean": float(np.nanmean(cur)) if (~np.isnan(cur)).any() else float("nan"),
            }
        )
    columns_out = [
        "column",
        "psi",
        "reference_rows",
        "current_rows",
        "reference_missing_share",
        "current_missing_share",
        "reference_mean",
        "current_mean",
    ]
    table = pd.DataFrame(rows, columns=columns_out)
    return table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
