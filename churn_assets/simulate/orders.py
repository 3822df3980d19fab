"""Orders of one day: their attributes, the shocks they cause, and the feedback they lead to.

Draws that change the latent state (status, lateness, hidden service failures, complaints, giving
up, and the category, whose delivery time sets the day a complaint and a give-up come) use the
simulation stream `rs`; cosmetic ones (amount, texts, times) use `re`, so the latent path does not
depend on how the logs are rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from churn_assets.simulate import text as T
from churn_assets.simulate.config import (
    CATEGORIES,
    CATEGORY_EXTRA_QTY,
    CATEGORY_LOG_PRICE,
    CATEGORY_POPULARITY,
    CATEGORY_PRICE_SIGMA,
    CATEGORY_SHIP_DAYS,
    DAY_S,
    NON_PAID_SHARE,
    REGION_LATE_MULT,
    ShopConfig,
)
from churn_assets.simulate.dynamics import ENGAGE_BOOST, State
from churn_assets.simulate.population import Population, iso_ts, tagged

STATUSES = np.array(["paid", "cancelled", "refunded", "returned"])
PAID, CANCELLED, REFUNDED, RETURNED = 0, 1, 2, 3
LATE_P = 0.06  # base probability of a late delivery (times the region's multiplier)
LATE_DAYS = 7.0  # a delivery this slow counts as late
# dissatisfaction added by an order outcome
SHOCK_LATE, SHOCK_FAIL, SHOCK_RETURN, SHOCK_CANCEL = 1.0, 4.5, 0.5, 0.3
P_GIVEUP = 0.5  # probability that a complaint comes with giving up on the shop


@dataclass
class DayOrders:
    user: np.ndarray
    order_id: np.ndarray
    category: np.ndarray
    status: np.ndarray
    delivery_days: np.ndarray  # NaN for cancelled orders
    late: np.ndarray
    fail: np.ndarray  # 0 none, 1 delivery failure, 2 support failure (hidden)
    complaint: np.ndarray
    complaint_day: np.ndarray
    review: np.ndarray
    review_day: np.ndarray
    question: np.ndarray
    amount: np.ndarray
    discount: np.ndarray
    quantity: np.ndarray
    ts: np.ndarray | None = None  # epoch seconds, set once the purchase sessions exist

    def __len__(self) -> int:
        return len(self.user)


class _Latent(NamedTuple):
    """The latent-relevant outcomes of a day's orders (simulation stream)."""

    status: np.ndarray
    late: np.ndarray
    fail: np.ndarray
    complaint: np.ndarray
    ship: np.ndarray
    review: np.ndarray
    feedback_lag: np.ndarray
    question: np.ndarray
    category: np.ndarray


def draw_orders(
    cfg: ShopConfig,
    pop: Population,
    users: np.ndarray,
    lam: np.ndarray,
    t: int,
    promo: float,
    counter: int,
    rs: np.random.Generator,
    re: np.random.Generator,
) -> DayOrders:
    counts = rs.poisson(lam)
    u = np.repeat(users, counts)
    n = len(u)
    lat = _draw_latent(cfg, pop, u, rs)
    quantity, discount, amount = _draw_amounts(pop, u, lat.category, promo, re)
    # delivery days: late (>= LATE_DAYS) exactly when the simulation stream said so
    days = np.round(CATEGORY_SHIP_DAYS[lat.category] + lat.ship)
    days = np.where(lat.late, np.maximum(days, LATE_DAYS), np.minimum(days, LATE_DAYS - 1))
    delivery = np.where(lat.status == CANCELLED, np.nan, days)
    deliver_day = t + np.nan_to_num(delivery, nan=0.0).astype(np.int64)
    complaint_day = np.where(lat.status == CANCELLED, t, t + np.minimum(deliver_day - t, 6)) + lat.feedback_lag
    order_id = tagged("o", counter + np.arange(n), 9)
    return DayOrders(
        user=u,
        order_id=order_id,
        category=lat.category,
        status=lat.status,
        delivery_days=delivery,
        late=lat.late,
        fail=lat.fail,
        complaint=lat.complaint,
        complaint_day=complaint_day.astype(np.int64),
        review=lat.review,
        review_day=(deliver_day + lat.feedback_lag + 1).astype(np.int64),
        question=lat.question,
        amount=amount,
        discount=discount,
        quantity=quantity,
    )


def _draw_latent(cfg: ShopConfig, pop: Population, u: np.ndarray, rs: np.random.Generator) -> _Latent:
    """Latent-relevant outcomes of the orders of users `u`, drawn from the simulation stream in a fixed order."""
    n = len(u)
    paid = rs.random(n) < pop.q[u]
    status = np.where(paid, PAID, 1 + rs.choice(3, size=n, p=NON_PAID_SHARE))
    late = (status != CANCELLED) & (rs.random(n) < LATE_P * REGION_LATE_MULT[pop.region[u]])
    fail_draw = rs.random(n)
    fail = np.where(fail_draw < pop.fail_rate[u], np.where(rs.random(n) < 0.55, 1, 2), 0)
    fail[status == CANCELLED] = np.where(fail[status == CANCELLED] == 2, 2, 0)
    returned = (status == REFUNDED) | (status == RETURNED)
    p_complaint = 0.004 + 0.1 * late + 0.2 * (fail > 0) + 0.06 * returned + 0.03 * (status == CANCELLED)
    complaint = rs.random(n) < p_complaint
    ship = rs.gamma(2.0, 0.6, size=n) + np.where(late, rs.uniform(5.0, 14.0, size=n), 0.0)
    p_review = cfg.review_rate * pop.review_prop[u] * (1.0 + 1.0 * late + 1.5 * (fail > 0))
    review = ~complaint & (status != CANCELLED) & (rs.random(n) < np.minimum(p_review, 0.9))
    feedback_lag = rs.geometric(0.35, size=n) - 1
    question = rs.random(n) < 0.02
    # the category sets the delivery time, hence the day a complaint (and a decision to give up) comes
    fav = rs.random(n) < 0.5
    category = np.where(fav, pop.fav_cat[u], rs.choice(len(CATEGORIES), size=n, p=CATEGORY_POPULARITY)).astype(np.int8)
    return _Latent(status, late, fail, complaint, ship, review, feedback_lag, question, category)


def _draw_amounts(
    pop: Population, u: np.ndarray, category: np.ndarray, promo: float, re: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cosmetic attributes (emission stream): quantity, discount and amount paid."""
    n = len(u)
    quantity = 1 + re.poisson(CATEGORY_EXTRA_QTY[category])
    unit = np.exp(CATEGORY_LOG_PRICE[category] + pop.spend[u] + CATEGORY_PRICE_SIGMA[category] * re.standard_normal(n))
    gross = unit * quantity**0.85
    on_promo = (promo > 0) & (re.random(n) < 0.3 + 0.25 * np.minimum(pop.rho[u], 2.0))
    coupon = ~on_promo & (re.random(n) < 0.04 + 0.08 * (pop.rho[u] > 0))
    pct = np.where(on_promo, re.uniform(0.1, 0.35, size=n), np.where(coupon, re.uniform(0.05, 0.15, size=n), 0.0))
    discount = np.round(gross * pct, 2)
    amount = np.round(gross - discount, 2)
    return quantity, discount, amount


def apply_shocks(st: State, pop: Population, orders: DayOrders, rs: np.random.Generator) -> None:
    """End-of-day update of the latent state from the day's orders."""
    u = orders.user
    if len(u) == 0:
        return
    n_users = len(st.D)
    paid = orders.status == PAID
    returned = (orders.status == REFUNDED) | (orders.status == RETURNED)
    shock = (
        SHOCK_LATE * orders.late
        + SHOCK_FAIL * (orders.fail > 0)
        + SHOCK_RETURN * returned
        + SHOCK_CANCEL * (orders.status == CANCELLED)
    )
    st.D += np.bincount(u, weights=shock * pop.tolerance[u], minlength=n_users)
    paid_count = np.bincount(u[paid], minlength=n_users).astype(np.int32)
    st.n_paid += paid_count
    got = paid_count > 0
    st.e[got] = np.minimum(1.0, st.e[got] + ENGAGE_BOOST)
    st.late_orders += np.bincount(u[orders.late], minlength=n_users).astype(np.int32)
    st.failures += np.bincount(u[orders.fail > 0], minlength=n_users).astype(np.int32)
    st.complaints += np.bincount(u[orders.complaint], minlength=n_users).astype(np.int32)
    gives_up = orders.complaint & (rs.random(len(u)) < P_GIVEUP * pop.tolerance[u]) & ~st.giveup[u]
    gu, gday = u[gives_up], orders.complaint_day[gives_up]
    st.giveup[gu] = True
    np.minimum.at(st.complaint_day, gu, gday.astype(np.int32))


def orders_frame(orders: DayOrders, ids: np.ndarray) -> pd.DataFrame:
    order = np.argsort(orders.ts, kind="stable")
    delivery = orders.delivery_days[order]
    return pd.DataFrame(
        {
            "user_id": ids[orders.user[order]],
            "order_id": orders.order_id[order],
            "ts": iso_ts(orders.ts[order]),
            "amount": orders.amount[order],
            "status": STATUSES[orders.status[order]],
            "quantity": orders.quantity[order],
            "category": np.asarray(CATEGORIES)[orders.category[order]],
            "discount": orders.discount[order],
            "delivery_days": pd.array(delivery, dtype="Int64"),
        }
    )


def feedback_frame(
    orders: DayOrders, pop: Population, ids: np.ndarray, t: int, start_epoch: int, re: np.random.Generator
) -> pd.DataFrame:
    """Reviews, complaints and questions caused by day t's orders, each with its (future) day `_day`."""
    o = orders
    parts = []
    # reviews: topic from what happened (hidden failures and lateness show in the words) and the rating
    r = np.flatnonzero(o.review)
    grievance = (o.fail[r] > 0) | o.late[r]
    mood = pop.rating_bias[o.user[r]] + re.standard_normal(len(r)) - 0.35 * grievance
    rating = 1 + np.digitize(mood, [-1.6, -1.1, -0.5, 0.2])
    says_it = grievance & (re.random(len(r)) < 0.85)
    u = re.random(len(r))
    topic = np.select(
        [rating >= 5, rating == 4, rating == 3],
        [
            T.PRAISE,
            np.where(u < 0.55, T.PRAISE, np.where(u < 0.9, T.MIXED_OK, T.PRICE)),
            np.where(u < 0.8, T.MIXED_OK, T.PRICE),
        ],
        T.QUALITY,
    )
    topic = np.where(says_it, np.where(o.fail[r] == 2, T.GRIEVANCE_SUPPORT, T.GRIEVANCE_DELIVERY), topic)
    parts.append(_rows(o, r, o.review_day[r], rating, T.review_texts(topic, rating, o.category[r], re), "review"))
    # complaints: about the cause; a third carry a (low) rating
    c = np.flatnonzero(o.complaint)
    ctopic = np.select(
        [o.fail[c] == 2, (o.fail[c] == 1) | o.late[c], o.status[c] == CANCELLED, o.status[c] >= REFUNDED],
        [T.C_SUPPORT, T.C_DELIVERY, T.C_CANCEL, T.C_REFUND],
        T.C_QUALITY,
    )
    crating = np.where(re.random(len(c)) < 0.35, re.integers(1, 3, size=len(c)), 0)
    parts.append(_rows(o, c, o.complaint_day[c], crating, T.complaint_texts(ctopic, o.category[c], re), "complaint"))
    qn = np.flatnonzero(o.question)
    qday = t + re.integers(0, 3, size=len(qn))
    parts.append(_rows(o, qn, qday, np.zeros(len(qn), int), T.question_texts(o.category[qn], re), "question"))
    out = pd.concat(parts, ignore_index=True)
    secs = re.integers(7 * 3600, DAY_S - 1, size=len(out))
    # feedback on the order's own day comes after the order
    same_day = out["_day"].to_numpy() == t
    secs = np.minimum(np.where(same_day, np.maximum(secs, out["_after"].to_numpy() + 60), secs), DAY_S - 1)
    out["ts"] = iso_ts(start_epoch + out["_day"].to_numpy() * DAY_S + secs)
    out["user_id"] = ids[out["_user"].to_numpy()]
    return out.drop(columns=["_after"])


def _rows(
    o: DayOrders, rows: np.ndarray, day: np.ndarray, rating: np.ndarray, text: np.ndarray, kind: str
) -> pd.DataFrame:
    rating = pd.Series(np.asarray(rating, dtype=np.int64)).astype("Int64")
    return pd.DataFrame(
        {
            "_user": o.user[rows],
            "_day": np.asarray(day, dtype=np.int64),
            "_after": o.ts[rows] % DAY_S,
            "rating": rating.where(rating > 0).array,
            "text": text.astype(object),
            "order_id": o.order_id[rows].astype(object),
            "kind": kind,
        }
    )
