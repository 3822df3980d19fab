"""Synthetic event-token histories with a known churn mechanism, for tests and benchmarks.

``synthetic_sequences(n, seed)`` returns one row per user with ``event_tokens`` in the format of
``features/user_event_tokens.sql`` (gap tokens, sessions, orders with amount/category tokens,
deliveries, reviews, complaints, a final ``now_*`` token), a ``churned`` label and a few aggregate
columns computed from the same history (counts only, no order information).

Mechanism: every user browses and orders at a personal rate. Some users have a bad experience (a late
delivery, often followed by a low rating and a complaint). A bad experience that is NOT followed by a
later paid order makes churn likely, and such users fade (longer pauses, searches without orders);
one that was followed by a repeat order was "resolved". So part of the signal is in the order of
events, which counts cannot see; the rest is in recency and rates, which they can.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_GAPS = np.array(["gap_h", "gap_d1", "gap_d3", "gap_w1", "gap_w2", "gap_m1", "gap_m2"])
_NOW = np.array(["now_d0", "now_d1", "now_d3", "now_w1", "now_w2", "now_m1", "now_m2"])
_CATS = np.array(
    ["cat_books", "cat_electronics", "cat_fashion", "cat_home", "cat_beauty", "cat_sports", "cat_toys", "cat_grocery"]
)


def _session(rng: np.random.Generator, fading: bool, buy: bool) -> list[str]:
    out = ["login"] if rng.random() < 0.6 else []
    out += ["page_view"] * (1 + rng.poisson(1.0 if fading else 2.0))
    out += ["search"] * rng.poisson(2.0 if fading else 0.8)
    out += ["click"] * rng.poisson(0.5 if fading else 1.2)
    if buy:
        out += ["add_to_cart"]
    elif rng.random() < 0.1:
        out += ["favourite"]
    return out


def synthetic_sequences(n: int, seed: int = 0, max_tokens: int = 128, churn_base: float = -1.2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    agg = {
        k: np.zeros(n)
        for k in (
            "orders_total",
            "complaints_90d",
            "late_deliveries_90d",
            "sessions_30d",
            "low_ratings_90d",
            "searches_30d",
        )
    }
    text30 = np.full(n, np.nan)
    for u in range(n):
        rate = rng.lognormal(0.0, 0.6)  # activity level
        n_items = int(rng.integers(4, 40))
        bad_at = int(rng.integers(1, n_items)) if rng.random() < 0.35 else -1
        resolved = bad_at >= 0 and rng.random() < 0.5
        toks: list[str] = []
        last_order, last_bad = -1, -1
        for i in range(n_items):
            fading = bad_at >= 0 and i > bad_at and not resolved
            gap_level = int(np.clip(rng.normal(2.5 - rate + (1.5 if fading else 0.0), 0.8), 0, 6))
            toks.append(_GAPS[gap_level])
            buy = (rng.random() < 0.35 * min(rate, 2.0)) and not fading
            if resolved and i == bad_at + 1:
                buy = True
            toks += _session(rng, fading, buy)
            if buy:
                toks += ["order_paid", f"amt_{int(np.clip(rng.normal(5, 1.2), 1, 10))}", str(rng.choice(_CATS))]
                last_order = i
                if i == bad_at:
                    toks += ["delivered_late"]
                    if rng.random() < 0.7:
                        toks += [f"review_r{int(rng.integers(1, 3))}"]
                    if rng.random() < 0.7:
                        toks += ["complaint"]
                    last_bad = i
                else:
                    toks += ["delivered"]
                    if rng.random() < 0.15:
                        toks += [f"review_r{int(rng.integers(3, 6))}"]
            elif i == bad_at:  # the bad experience without an order in this step: a complaint
                toks += ["complaint"]
                last_bad = i
            elif rng.random() < 0.02:
                toks += ["question"]
        unresolved = last_bad >= 0 and last_order <= last_bad
        now_level = int(np.clip(rng.normal(2.0 - 0.5 * rate + (1.5 if unresolved else 0.0), 1.0), 0, 6))
        toks.append(_NOW[now_level])
        toks = toks[-max_tokens:]
        z = churn_base + 2.5 * unresolved - 0.6 * np.log(rate) + 0.25 * (now_level - 2) + rng.normal(0, 0.5)
        y = int(rng.random() < 1 / (1 + np.exp(-z)))
        rows.append(" ".join(toks))
        labels.append(y)
        recent = toks[-60:]
        agg["orders_total"][u] = toks.count("order_paid")
        agg["complaints_90d"][u] = recent.count("complaint")
        agg["late_deliveries_90d"][u] = recent.count("delivered_late")
        agg["low_ratings_90d"][u] = recent.count("review_r1") + recent.count("review_r2")
        agg["sessions_30d"][u] = toks[-30:].count("page_view")
        agg["searches_30d"][u] = toks[-30:].count("search")
        if agg["low_ratings_90d"][u] or agg["complaints_90d"][u]:
            text30[u] = np.clip(0.6 + 0.3 * unresolved + rng.normal(0, 0.15), 0, 1)
    df = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "as_of_date": pd.Timestamp("2026-03-01"),
            "event_tokens": rows,
            **agg,
            "text_neg_mean_30d": text30,
            "churned": labels,
        }
    )
    return df
