"""Top churn reasons per row in plain words.

``top_reasons(contrib_df, X, k=3)`` picks, for each row, the k features with the largest positive
log-odds contribution (those that push churn risk up most) and returns, per row, a list of
``{"feature", "value", "contribution", "text", "kind"}`` dicts (fewer than k when fewer features push up).

Texts come from ``CATALOGUE`` (exact feature names) and ``PATTERNS`` (regular expressions for families
such as ``sessions_7d``); anything else gets the generic ``"<feature> = <value>"``. Each entry also has a
``kind`` used by ``actions.recommend_action``:

    service     complaints, late / slow deliveries, low ratings, negative reviews, cancels/refunds/returns
    price       discount share, searches without a purchase
    engagement  visits, page views, clicks, searches, logins, carts, session length, trends, last visit
    recency     days since last order, usual gap, order counts, BG/NBD inputs
    value       amounts spent, category breadth
    profile     tenure, region, channel, membership, tags
    other       generic fallback

Assumptions about feature meaning: ``*_trend_7_30`` is the ratio of the 7-day daily rate to the 30-day
daily rate (1 = steady, 0.4 = down 60%); ``*_rate`` / ``*_share`` columns are fractions in [0, 1].
Contribution columns that are not columns of X (one-hot ``region_north``, ``missingindicator_x``,
``cat__region_north``) are summed onto the longest X column they start with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from churn_assets.ml.reason_templates import CATALOGUE, PATTERNS, ReasonTemplate, is_present, number_text

BIAS_COLUMNS = ("bias", "_bias", "expected_value")


@lru_cache(maxsize=4096)
def lookup(feature: str) -> ReasonTemplate | None:
    """The catalogue entry for a feature name, or None (generic text, kind "other")."""
    if feature in CATALOGUE:
        return CATALOGUE[feature]
    for pattern, make in PATTERNS:
        m = pattern.match(feature)
        if m:
            return make(m)
    return None


def kind_of(feature: str) -> str:
    t = lookup(feature)
    return t.kind if t else "other"


def reason_text(feature: str, value: Any, context: Mapping[str, Any] | None = None) -> str:
    """Plain-words text for one feature value (``context``: other values of the same row)."""
    t = lookup(feature)
    if not is_present(value):
        return (t.missing if t and t.missing else None) or f"{feature.replace('_', ' ')} not known"
    if t is not None:
        try:
            return t.render(value, context or {})
        except (TypeError, ValueError):
            pass
    return f"{feature} = {number_text(value) if not isinstance(value, str) else value}"


# ---- selecting the top reasons ----------------------------------------------------------------
def source_column(name: str, columns: Sequence[str]) -> str:
    """Map a transformed column name (one-hot, missing indicator, prefixed) back to a column of X."""
    if name in columns:
        return name
    stripped = re.sub(r"^(num__|cat__|remainder__)", "", name)
    stripped = re.sub(r"^missingindicator_", "", stripped)
    if stripped in columns:
        return stripped
    best = ""
    for c in columns:
        if len(c) > len(best) and (stripped.startswith(c + "_") or stripped.startswith(c + "=")):
            best = c
    return best or name


def _py(v) -> Any:
    if not is_present(v):
        return None
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    return v


def top_reasons(
    contrib_df: pd.DataFrame, X: pd.DataFrame, k: int = 3, min_contribution: float = 0.0
) -> list[list[dict]]:
    """The k features pushing churn risk up most per row (contribution > ``min_contribution``)."""
    if len(contrib_df) != len(X):
        raise ValueError("contrib_df and X must have the same rows")
    contrib = contrib_df.drop(columns=[c for c in BIAS_COLUMNS if c in contrib_df.columns])
    cols = list(X.columns)
    sources = [source_column(str(c), cols) for c in contrib.columns]
    if sources != [str(c) for c in contrib.columns]:
        contrib = contrib.T.groupby(np.asarray(sources), sort=False).sum().T
    names = [str(c) for c in contrib.columns]
    C = np.nan_to_num(contrib.to_numpy(dtype="float64"), nan=-np.inf)
    n, m = C.shape
    k = min(k, m)
    if n == 0 or k <= 0:
        return [[] for _ in range(n)]
    idx = np.argpartition(-C, k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (n, 1))
    vals = np.take_along_axis(C, idx, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    idx, vals = np.take_along_axis(idx, order, axis=1), np.take_along_axis(vals, order, axis=1)
    valid = vals > min_contribution

    texts = np.empty((n, k), dtype=object)
    values = np.empty((n, k), dtype=object)
    for j in np.unique(idx[valid]):
        feat = names[j]
        rows, pos = np.nonzero(valid & (idx == j))
        col = X[feat].to_numpy()[rows] if feat in X.columns else np.full(len(rows), None, dtype=object)
        t = lookup(feat)
        ctx_cols = [c for c in (t.context if t else ()) if c in X.columns]
        ctx_arrays = {c: X[c].to_numpy()[rows] for c in ctx_cols}
        for r_i, (row, q) in enumerate(zip(rows, pos, strict=False)):
            v = _py(col[r_i])
            ctx = {c: _py(a[r_i]) for c, a in ctx_arrays.items()}
            values[row, q] = v
            texts[row, q] = reason_text(feat, v, ctx)

    kinds = {j: kind_of(names[j]) for j in np.unique(idx[valid])}
    out: list[list[dict]] = []
    for i in range(n):
        out.append(
            [
                {
                    "feature": names[idx[i, q]],
                    "value": values[i, q],
                    "contribution": float(vals[i, q]),
                    "text": texts[i, q],
                    "kind": kinds[idx[i, q]],
                }
                for q in range(k)
                if valid[i, q]
            ]
        )
    return out


# A row whose features all sit at or below the model's baseline still gets a first reason: its risk is
# the base rate of customers like it, which is worth saying rather than leaving the list blank.
NO_SINGLE_FACTOR = "no single factor raises the risk above the usual for similar customers"


def reason_texts(row: list[dict]) -> list[str]:
    """The texts of one row's reasons, or the no-single-factor sentence when nothing pushes risk up."""
    return [d["text"] for d in row] or [NO_SINGLE_FACTOR]


def reasons_frame(reasons: list[list[dict]], k: int = 3, index=None) -> pd.DataFrame:
    """Flatten top_reasons output: columns reason_1..k (text) and reason_features ("a,b,c")."""
    texts = [reason_texts(r) for r in reasons]
    data = {f"reason_{q + 1}": [t[q] if len(t) > q else None for t in texts] for q in range(k)}
    data["reason_features"] = [",".join(d["feature"] for d in r) for r in reasons]
    return pd.DataFrame(data, index=index)
