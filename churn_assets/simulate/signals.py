"""Measurements of the signals the simulator plants (used by the tests and the calibration report).

All functions take the clean frames of `evaluate.load_landing` and labels from
`evaluate.labelled_truth` (user_id, as_of_date, churned, p_churn) and return plain numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# wording of delivery and support problems (the positive texts say "delivery", "arrived", never these)
GRIEVANCE_PATTERN = (
    r"\blate\b|damaged|courier|support|customer service|tracking|parcel|crushed|missing from|hotline|"
    r"ticket|delivery took|waited ages|promised date|help chat|call back|never arrived on time|not on time"
)


def complaint_search_groups(
    orders: pd.DataFrame, reviews: pd.DataFrame, events: pd.DataFrame, labels: pd.DataFrame, window_days: int = 21
) -> pd.DataFrame:
    """For each labelled (user, as-of date) with a complaint in the last `window_days` days: searches
    before and after the (first) complaint in the window, and paid orders after it."""
    complaints = reviews.loc[reviews["kind"] == "complaint", ["user_id", "ts"]]
    searches = events.loc[events["event_type"] == "search", ["user_id", "ts"]]
    paid = orders.loc[orders["status"] == "paid", ["user_id", "ts"]]
    parts = []
    for d in sorted(labels["as_of_date"].unique()):  # loop over as-of dates
        end = pd.Timestamp(d) + pd.Timedelta(days=1)
        beg = end - pd.Timedelta(days=window_days)
        first = complaints[(complaints["ts"] >= beg) & (complaints["ts"] < end)].groupby("user_id")["ts"].min()
        g = pd.DataFrame({"c_ts": first})
        s = searches[(searches["ts"] >= beg) & (searches["ts"] < end)].merge(g, left_on="user_id", right_index=True)
        p = paid[(paid["ts"] >= beg) & (paid["ts"] < end)].merge(g, left_on="user_id", right_index=True)
        g["after"] = s[s["ts"] > s["c_ts"]].groupby("user_id").size()
        g["before"] = s[s["ts"] < s["c_ts"]].groupby("user_id").size()
        g["paid_after"] = p[p["ts"] > p["c_ts"]].groupby("user_id").size()
        g = g.fillna(0).reset_index()
        g["as_of_date"] = d
        parts.append(g)
    out = pd.concat(parts, ignore_index=True).merge(labels, on=["user_id", "as_of_date"])
    out["total"] = out["after"] + out["before"]
    return out


def order_signal(groups: pd.DataFrame, min_searches: int = 3) -> dict:
    """Churn of complaint-then-searches-without-purchase (A) vs searches-then-complaint (B), users with
    no paid order after the complaint, compared within strata of the total number of searches."""
    g = groups[(groups["paid_after"] == 0) & (groups["total"] >= min_searches)].copy()
    g["group"] = np.where(g["after"] > 2 * g["before"], "A", np.where(g["before"] > 2 * g["after"], "B", ""))
    g = g[g["group"] != ""]
    g["stratum"] = pd.cut(g["total"], [min_searches - 1, 5, 8, 12, np.inf])
    rates = g.pivot_table(index="stratum", columns="group", values="churned", aggfunc=["mean", "size"], observed=True)
    diffs, weights = [], []
    for stratum in rates.index:
        n_a, n_b = rates.loc[stratum, ("size", "A")], rates.loc[stratum, ("size", "B")]
        if n_a > 0 and n_b > 0 and not np.isnan(n_a) and not np.isnan(n_b):
            diffs.append(rates.loc[stratum, ("mean", "A")] - rates.loc[stratum, ("mean", "B")])
            weights.append(n_a * n_b / (n_a + n_b))
    a, b = g[g["group"] == "A"], g[g["group"] == "B"]
    return {
        "n_a": int(len(a)),
        "n_b": int(len(b)),
        "churn_a": float(a["churned"].mean()),
        "churn_b": float(b["churned"].mean()),
        "searches_a": float(a["total"].mean()),
        "searches_b": float(b["total"].mean()),
        "stratified_diff": float(np.average(diffs, weights=weights)) if diffs else float("nan"),
    }


def text_signal(reviews: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Churn at the review date of 3-4 star reviews, by rating and by problem wording."""
    r = reviews[(reviews["kind"] == "review") & reviews["rating"].between(3, 4)].copy()
    r["grievance"] = r["text"].str.contains(GRIEVANCE_PATTERN, case=False, regex=True)
    r["as_of_date"] = r["ts"].dt.date
    r = r.merge(labels, on=["user_id", "as_of_date"])
    return r.groupby(["rating", "grievance"]).agg(churn=("churned", "mean"), n=("churned", "size")).reset_index()


def late_signal(orders: pd.DataFrame, labels: pd.DataFrame, late_days: float = 7.0) -> dict:
    """Churn at the order date after paid orders delivered late vs on time."""
    o = orders[orders["status"] == "paid"].assign(as_of_date=lambda d: d["ts"].dt.date)
    o = o.merge(labels, on=["user_id", "as_of_date"])
    late = o["delivery_days"] >= late_days
    return {
        "churn_late": float(o.loc[late, "churned"].mean()),
        "churn_on_time": float(o.loc[~late, "churned"].mean()),
        "n_late": int(late.sum()),
        "n_on_time": int((~late).sum()),
    }


def recent_activity(events: pd.DataFrame, labels: pd.DataFrame, days: int = 30) -> dict:
    """Mean events in the last `days` days before the as-of date, churners vs the others."""
    out = []
    ev = events[["user_id", "ts"]]
    for d in sorted(labels["as_of_date"].unique()):
        end = pd.Timestamp(d) + pd.Timedelta(days=1)
        n = ev[(ev["ts"] >= end - pd.Timedelta(days=days)) & (ev["ts"] < end)].groupby("user_id").size()
        lab = labels[labels["as_of_date"] == d]
        out.append(lab.assign(events=lab["user_id"].map(n).fillna(0).to_numpy()))
    both = pd.concat(out, ignore_index=True)
    return {
        "churners": float(both.loc[both["churned"], "events"].mean()),
        "stayers": float(both.loc[~both["churned"], "events"].mean()),
    }
