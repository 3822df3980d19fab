"""The plain-words templates of the churn reasons: ``CATALOGUE`` (exact feature names) and ``PATTERNS`` (regular
expressions for families such as ``sessions_7d``), each giving a text and a ``kind`` (service, price,
engagement, recency, value, profile). ``ml/reasons.py`` picks the top reasons and fills these in."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd


@dataclass(frozen=True)
class ReasonTemplate:
    kind: str
    render: Callable[[Any, Mapping[str, Any]], str]  # (value, context values of the same row) -> text
    context: tuple[str, ...] = ()
    missing: str | None = None  # text when the value is missing


# ---- formatting helpers ---------------------------------------------------------------------
def _n(v) -> int:
    return int(round(float(v)))


def number_text(v) -> str:
    if isinstance(v, str):
        return v
    v = float(v)
    if v.is_integer():
        return str(int(v))
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def _money(v) -> str:
    return f"{float(v):,.2f}"


def _pct(v) -> str:
    return f"{round(float(v) * 100):.0f}%"


def _count(v, one: str, many: str) -> str:
    n = _n(v)
    return f"no {many}" if n == 0 else f"1 {one}" if n == 1 else f"{n} {many}"


def _times(r: float) -> str:
    return f"{r:.0f}x" if r >= 10 else f"{round(r, 1):g}x"


def is_present(v) -> bool:
    if v is None:
        return False
    try:
        return not (isinstance(v, float) and math.isnan(v)) and not pd.isna(v)
    except (TypeError, ValueError):
        return True


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "y", "t")
    return bool(float(v))


def _last_order(v, ctx) -> str:
    text = f"no order for {_n(v)} days"
    gap, ratio = ctx.get("mean_gap_days"), ctx.get("recency_over_typical_gap")
    r = float(v) / float(gap) if is_present(gap) and float(gap) > 0 else (float(ratio) if is_present(ratio) else None)
    return f"{text}, {_times(r)} longer than usual" if r is not None and r >= 1.5 else text


def _trend(noun: str):
    def render(v, ctx) -> str:
        v = float(v)
        if v < 1:
            return f"{noun} dropped by {round((1 - v) * 100):.0f}% this week vs the monthly average"
        return f"{noun} this week {round((v - 1) * 100):.0f}% above the monthly average"

    return render


def _complaints(window: str):
    def render(v, ctx) -> str:
        n = _n(v)
        if n == 0:
            return f"no complaint in the last {window}"
        return f"filed a complaint in the last {window}" if n == 1 else f"filed {n} complaints in the last {window}"

    return render


def T(
    kind: str,
    fn: Callable[[Any], str] | Callable[[Any, Mapping[str, Any]], str],
    context=(),
    missing=None,
    with_ctx: bool = False,
) -> ReasonTemplate:
    # with_ctx says which of the two signatures fn has
    if with_ctx:
        return ReasonTemplate(kind, cast("Callable[[Any, Mapping[str, Any]], str]", fn), tuple(context), missing)
    one = cast("Callable[[Any], str]", fn)
    return ReasonTemplate(kind, lambda v, ctx: one(v), tuple(context), missing)


CATALOGUE: dict[str, ReasonTemplate] = {
    "days_since_last_order": T(
        "recency", _last_order, ("mean_gap_days", "recency_over_typical_gap"), "no order on record", with_ctx=True
    ),
    "recency_over_typical_gap": T("recency", lambda v: f"time since last order is {_times(float(v))} the usual gap"),
    "days_since_last_event": T("engagement", lambda v: f"no visit for {_n(v)} days", missing="no visit on record"),
    "sessions_trend_7_30": T("engagement", _trend("visits"), with_ctx=True),
    "visit_recency_over_typical_gap": T(
        "engagement", lambda v: f"no visit for {_times(float(v))} the usual gap between visits"
    ),
    "sessions_per_day": T("engagement", lambda v: f"usually visits {float(v) * 7:.1f} times a week"),
    "sessions_total": T("engagement", lambda v: f"{_count(v, 'visit', 'visits')} in total"),
    "visit_days_total": T("engagement", lambda v: f"visited on {_n(v)} days in total"),
    "days_since_first_event": T("engagement", lambda v: f"first visit {_n(v)} days ago"),
    "sessions_after_complaint": T("service", lambda v: f"{_count(v, 'visit', 'visits')} since the last complaint"),
    "searches_after_complaint": T("service", lambda v: f"{_count(v, 'search', 'searches')} since the last complaint"),
    "add_to_cart_after_complaint": T(
        "service",
        lambda v: (
            "nothing put in the cart since the last complaint"
            if _n(v) == 0
            else f"{_n(v)} items put in the cart since the last complaint"
        ),
    ),
    "page_views_trend_7_30": T("engagement", _trend("page views"), with_ctx=True),
    "avg_session_minutes_30d": T(
        "engagement", lambda v: f"visits lasted {float(v):.1f} minutes on average in the last 30 days"
    ),
    "searches_without_purchase_30d": T(
        "price", lambda v: f"{_count(v, 'search', 'searches')} without a purchase in the last 30 days"
    ),
    "orders_total": T("recency", lambda v: f"{_count(v, 'order', 'orders')} in total"),
    "days_since_first_order": T("recency", lambda v: f"first order {_n(v)} days ago"),
    "mean_gap_days": T("recency", lambda v: f"usually orders every {_n(v)} days"),
    "std_gap_days": T("recency", lambda v: f"gaps between orders vary by about {_n(v)} days"),
    "amount_sum_90d": T("value", lambda v: f"spent {_money(v)} in the last 90 days"),
    "amount_sum_total": T("value", lambda v: f"spent {_money(v)} in total"),
    "amount_mean": T("value", lambda v: f"average order value {_money(v)}"),
    "amount_max": T("value", lambda v: f"largest order {_money(v)}"),
    "amount_min": T("value", lambda v: f"smallest order {_money(v)}"),
    "discount_share": T("price", lambda v: f"{_pct(v)} of orders bought on discount"),
    "category_count": T(
        "value", lambda v: "bought from a single category" if _n(v) == 1 else f"bought from {_n(v)} categories"
    ),
    "category_entropy": T("value", lambda v: f"category variety (entropy) {float(v):.2f}"),
    "cancel_rate": T("service", lambda v: f"{_pct(v)} of orders cancelled"),
    "refund_rate": T("service", lambda v: f"{_pct(v)} of orders refunded"),
    "return_rate": T("service", lambda v: f"{_pct(v)} of orders returned"),
    "mean_delivery_days": T("service", lambda v: f"deliveries took {float(v):.1f} days on average"),
    "bgnbd_frequency": T("recency", lambda v: f"{_count(v, 'repeat purchase', 'repeat purchases')} so far"),
    "bgnbd_recency": T("recency", lambda v: f"last repeat purchase {_n(v)} days after the first order"),
    "bgnbd_T": T("recency", lambda v: f"first order {_n(v)} days ago"),
    "reviews_90d": T("service", lambda v: f"{_count(v, 'review', 'reviews')} in the last 90 days"),
    "rating_mean_90d": T("service", lambda v: f"average rating {float(v):.1f}/5 in the last 90 days"),
    "rating_min_90d": T("service", lambda v: f"gave a {_n(v)}-star rating in the last 90 days"),
    "negative_share_90d": T("service", lambda v: f"{_pct(v)} of reviews in the last 90 days were negative"),
    "complaints_30d": T("service", _complaints("30 days"), with_ctx=True),
    "complaints_90d": T("service", _complaints("90 days"), with_ctx=True),
    "questions_90d": T("service", lambda v: f"asked {_count(v, 'question', 'questions')} in the last 90 days"),
    "days_since_last_complaint": T(
        "service", lambda v: f"last complaint {_n(v)} days ago", missing="no complaint on record"
    ),
    "tenure_days": T("profile", lambda v: f"customer for {_n(v)} days"),
    "region": T("profile", lambda v: f"region: {v}"),
    "channel": T("profile", lambda v: f"acquisition channel: {v}"),
    "membership": T("profile", lambda v: f"membership: {v}"),
}


# ---- behaviour BERT (occlusion of token families, ml/models/behaviour_bert.py) and hybrid -------------
# These features are not columns of X: the value is missing, so the text is the ``missing`` text.
def _sequence(kind: str, text: str) -> ReasonTemplate:
    return T(kind, lambda v, _t=text: _t, missing=text)


CATALOGUE.update(
    {
        "seq_complaints": _sequence("service", "a complaint in the recent history raises the risk"),
        "seq_late_delivery": _sequence("service", "late deliveries in the recent history raise the risk"),
        "seq_low_ratings": _sequence("service", "1- or 2-star reviews in the recent history raise the risk"),
        "seq_reviews": _sequence("service", "the reviews and questions in the recent history raise the risk"),
        "seq_returns": _sequence(
            "service", "cancelled, refunded or returned orders in the recent history raise the risk"
        ),
        "seq_orders": _sequence(
            "recency", "the pattern of recent orders (timing, amounts, categories) raises the risk"
        ),
        "seq_searches": _sequence("price", "searches in the recent history (without buying) raise the risk"),
        "seq_carts": _sequence("engagement", "items put in the cart or favourites without ordering raise the risk"),
        "seq_sessions": _sequence(
            "engagement", "the pattern of recent visits (logins, page views, clicks) raises the risk"
        ),
        "seq_pauses": _sequence("engagement", "long pauses between recent activities raise the risk"),
        "seq_last_activity": _sequence("recency", "the time since the last activity raises the risk"),
        "seq_other": _sequence("engagement", "other recent activity in the history raises the risk"),
        "bert_embedding": _sequence("engagement", "recent behaviour sequence looks like customers who left"),
        "text_neg_mean_30d": T(
            "service",
            lambda v: f"reviews in the last 30 days read as a bad experience (text score {float(v):.2f})",
            missing="no review text in the last 30 days",
        ),
        "text_neg_max_30d": T(
            "service",
            lambda v: f"a review in the last 30 days reads as a bad experience (text score {float(v):.2f})",
            missing="no review text in the last 30 days",
        ),
        "text_neg_mean_90d": T(
            "service",
            lambda v: f"reviews in the last 90 days read as a bad experience (text score {float(v):.2f})",
            missing="no review text in the last 90 days",
        ),
        "text_neg_max_90d": T(
            "service",
            lambda v: f"a review in the last 90 days reads as a bad experience (text score {float(v):.2f})",
            missing="no review text in the last 90 days",
        ),
    }
)


_ACTIVITY_NOUNS = {
    "logins": ("login", "logins"),
    "sessions": ("visit", "visits"),
    "page_views": ("page view", "page views"),
    "clicks": ("click", "clicks"),
    "searches": ("search", "searches"),
    "add_to_cart": ("item added to cart", "items added to cart"),
}
_TAG_LABELS = {"high_frequency": "a high-frequency buyer", "low_frequency": "a low-frequency buyer"}


def _activity(m: re.Match) -> ReasonTemplate:
    one, many = _ACTIVITY_NOUNS[m.group(1)]
    return T("engagement", lambda v: f"{_count(v, one, many)} in the last {m.group(2)} days")


def _orders(m: re.Match) -> ReasonTemplate:
    return T("recency", lambda v: f"{_count(v, 'order', 'orders')} in the last {m.group(1)} days")


def _late(m: re.Match) -> ReasonTemplate:
    return T("service", lambda v: f"{_count(v, 'late delivery', 'late deliveries')} in the last {m.group(1)} days")


def _tag(m: re.Match) -> ReasonTemplate:
    label = _TAG_LABELS.get(m.group(1), m.group(1).replace("_", " "))
    return T("profile", lambda v: f"tagged as {label}" if _truthy(v) else f"not tagged as {label}")


# complaint topics (ml/complaint_topics.py, features.user_text_signals): complaints_<topic>_30d and
# days_since_complaint_<topic>; the date of the latest complaint is the row's as-of date minus its age
TOPIC_LABELS = {
    "delivery": "delivery",
    "product_quality": "product quality",
    "price": "prices",
    "service": "customer service",
    "refund_return": "a refund or return",
}
_MONTHS = "January February March April May June July August September October November December".split()


def day_before(as_of, days) -> str | None:
    """'12 May': the day ``days`` days before ``as_of`` (None when either is unknown)."""
    if not (is_present(as_of) and is_present(days)):
        return None
    try:
        d = pd.Timestamp(as_of) - pd.Timedelta(days=_n(days))
    except (TypeError, ValueError):
        return None
    return f"{d.day} {_MONTHS[d.month - 1]}"


def _topic_count(m: re.Match) -> ReasonTemplate:
    topic, label = m.group(1), TOPIC_LABELS[m.group(1)]
    age = f"days_since_complaint_{topic}"

    def render(v, ctx) -> str:
        n, on = _n(v), day_before(ctx.get("as_of_date"), ctx.get(age))
        if n == 0:
            return f"no complaint about {label} in the last {m.group(2)} days"
        if n == 1 and on:
            return f"complained about {label} on {on}"
        if n == 1:
            return f"complained about {label} in the last {m.group(2)} days"
        last = f", last on {on}" if on else ""
        return f"complained {n} times about {label} in the last {m.group(2)} days{last}"

    return T(_topic_kind(topic), render, (age, "as_of_date"), with_ctx=True)


def _topic_kind(topic: str) -> str:
    return "price" if topic == "price" else "service"  # price complaints call for a price action


def _topic_age(m: re.Match) -> ReasonTemplate:
    topic, label = m.group(1), TOPIC_LABELS[m.group(1)]

    def render(v, ctx) -> str:
        on = day_before(ctx.get("as_of_date"), v)
        return f"complained about {label} on {on}" if on else f"complained about {label} {_n(v)} days ago"

    missing = f"no complaint about {label} in the last 90 days"
    return T(_topic_kind(topic), render, ("as_of_date",), missing, with_ctx=True)


_TOPICS = "|".join(TOPIC_LABELS)
PATTERNS: list[tuple[re.Pattern, Callable[[re.Match], ReasonTemplate]]] = [
    (re.compile(rf"^complaints_({_TOPICS})_(\d+)d$"), _topic_count),
    (re.compile(rf"^days_since_complaint_({_TOPICS})$"), _topic_age),
    (re.compile(r"^(logins|sessions|page_views|clicks|searches|add_to_cart)_(\d+)d$"), _activity),
    (re.compile(r"^orders_(\d+)d$"), _orders),
    (re.compile(r"^late_deliveries_(\d+)d$"), _late),
    (re.compile(r"^tag_(.+)$"), _tag),
]
