"""Risk tiers from churn probabilities.

``assign_tiers(p, rule="probability")``: high when p >= 0.6, medium when p >= 0.3, else low.
``assign_tiers(p, rule="share")``: the top 10% of rows by score are high, the next 20% medium.
Cut-offs are overridable: ``assign_tiers(p, "share", high=0.05, medium=0.15)``; ``rule`` may also be a
mapping ``{"rule": "share", "high": 0.05, "medium": 0.15}`` (e.g. straight from run config).
Shares hold round(share * n) rows, ranked by score with ties broken by row order (stable sort).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

TIERS = ("high", "medium", "low")
DEFAULT_CUTOFFS = {"probability": (0.6, 0.3), "share": (0.1, 0.2)}


def assign_tiers(
    p, rule: str | Mapping[str, Any] = "probability", high: float | None = None, medium: float | None = None
) -> np.ndarray:
    if isinstance(rule, Mapping):
        high = rule.get("high", high)
        medium = rule.get("medium", medium)
        rule = rule.get("rule", "probability")
    if rule not in DEFAULT_CUTOFFS:
        raise ValueError(f"rule must be one of {sorted(DEFAULT_CUTOFFS)}")
    d_high, d_medium = DEFAULT_CUTOFFS[rule]
    high = d_high if high is None else float(high)
    medium = d_medium if medium is None else float(medium)
    s = np.asarray(p, dtype="float64").ravel()
    out = np.full(s.size, "low", dtype=object)
    if rule == "probability":
        if medium > high:
            raise ValueError("medium threshold must not exceed the high threshold")
        out[s >= medium] = "medium"
        out[s >= high] = "high"
        return out
    if not (0 <= high <= 1 and 0 <= medium <= 1 and high + medium <= 1):
        raise ValueError("shares must be in [0, 1] and sum to at most 1")
    order = np.argsort(-np.nan_to_num(s, nan=-np.inf), kind="stable")
    n_high = int(round(high * s.size))
    n_med = int(round((high + medium) * s.size)) - n_high
    out[order[:n_high]] = "high"
    out[order[n_high : n_high + n_med]] = "medium"
    return out
