"""Behaviour log of one day: sessions and their events, built for all sessions at once.

A session has a mode: ordinary browsing, a purchase (it ends with the order), "shopping around"
after a complaint (many searches, nothing bought) or the fading visits of a customer who left.
The mode sets how many events of each type the session has; events are ordered within the session
(login first, carts after clicks, logout last) and spaced by short random gaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn_assets.simulate.config import CATEGORIES, CATEGORY_POPULARITY, DAY_S, DEVICES, ITEMS_PER_CATEGORY
from churn_assets.simulate.population import Population, iso_ts, tagged
from churn_assets.warehouse.contract import EVENT_TYPES

BROWSE, SHOPPING_AROUND, FADING, PURCHASE = 0, 1, 2, 3
# per mode (rows) and event type (columns, EVENT_TYPES order): fixed count + Poisson mean
_FIXED = np.array(
    [  # login pv search click cart fav logout
        [0, 1, 0, 0, 0, 0, 0],
        [0, 1, 1, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 0, 0],
        [0, 1, 0, 1, 1, 0, 0],
    ]
)
_MEAN = np.array(
    [
        [0, 0.2, 0.2, 0.3, 0.06, 0.04, 0],
        [0, 1.5, 2.0, 1.0, 0.0, 0.0, 0],
        [0, 1.0, 0.4, 0.5, 0.0, 0.03, 0],
        [0, 0.5, 0.3, 0.3, 0.1, 0.05, 0],
    ]
)
P_LOGIN, P_LOGOUT = 0.3, 0.15
# ordering key within a session: base + span * U
_KEY_BASE = np.array([0.0, 1.0, 1.0, 1.1, 1.5, 1.2, 3.0])
_KEY_SPAN = np.array([0.0, 1.0, 0.6, 0.8, 0.5, 0.8, 0.0])
_HAS_ITEM = np.array([False, True, False, True, True, True, False])
SEARCH = EVENT_TYPES.index("search")
PAGE_VIEW = EVENT_TYPES.index("page_view")

QUERIES = (
    (
        "wireless headphones",
        "usb c charger",
        "phone case",
        "mechanical keyboard",
        "bluetooth speaker",
        "smartwatch",
        "laptop stand",
        "hdmi cable",
        "power bank",
        "webcam",
    ),
    (
        "winter jacket",
        "summer dress",
        "white sneakers",
        "slim jeans",
        "wool scarf",
        "linen shirt",
        "hoodie",
        "ankle boots",
        "rain coat",
    ),
    (
        "desk lamp",
        "memory foam pillow",
        "non stick pan",
        "blackout curtains",
        "storage box",
        "electric kettle",
        "bath towels",
        "plant pot",
    ),
    ("face cream", "shampoo dry hair", "perfume", "matte lipstick", "vitamin c serum", "sunscreen spf 50", "hair oil"),
    ("yoga mat", "running shoes", "dumbbells set", "water bottle", "bike helmet", "tennis racket", "gym bag"),
    ("bestseller novel", "cookbook", "notebook a5", "comic", "travel guide", "kids book", "wall calendar"),
    ("puzzle 1000", "board game", "building blocks", "plush bear", "remote control car", "doll house", "kite"),
    ("coffee beans", "green tea", "olive oil", "snack box", "pasta", "dark chocolate", "spices"),
)
_Q_WIDTH = max(len(q) for q in QUERIES)
_QUERY_TABLE = np.array([list(q) + [q[0]] * (_Q_WIDTH - len(q)) for q in QUERIES])
_Q_COUNT = np.array([len(q) for q in QUERIES])
ITEM_IDS = tagged("i", np.arange(len(CATEGORIES) * ITEMS_PER_CATEGORY), 6)
EVENT_COLUMNS = ["user_id", "ts", "event_type", "session_id", "item_id", "category", "query", "device"]


def _start_seconds(n: int, re: np.random.Generator) -> np.ndarray:
    """Time of day of session starts: a midday and an evening peak, a quiet night."""
    evening = re.random(n) < 0.55
    hours = np.where(evening, re.normal(20.0, 2.2, n), re.normal(12.5, 3.0, n)) % 24
    return (hours * 3600).astype(np.int64)


def build_sessions(
    user: np.ndarray,
    mode: np.ndarray,
    category: np.ndarray,
    t: int,
    start_epoch: int,
    pop: Population,
    ids: np.ndarray,
    counter: int,
    re: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Events of all sessions of day t, and each session's end (seconds into the day).

    category < 0 means: draw the session's focus category (favourite half of the time).
    """
    S = len(user)
    if S == 0:
        return pd.DataFrame(columns=EVENT_COLUMNS), np.zeros(0, np.int64)
    draw = re.choice(len(CATEGORIES), size=S, p=CATEGORY_POPULARITY)
    cat = np.where(category >= 0, category, np.where(re.random(S) < 0.5, pop.fav_cat[user], draw)).astype(np.int64)
    device = np.where(re.random(S) < 0.85, pop.device[user], re.integers(0, len(DEVICES), S))
    etype, sess = _session_events(mode, re)
    start, duration, sec = _event_seconds(sess, S, re)
    # items, categories, queries
    E = len(etype)
    has_item = _HAS_ITEM[etype] & ((etype != PAGE_VIEW) | (re.random(E) < 0.7))
    ecat = cat[sess]
    item_no = ecat * ITEMS_PER_CATEGORY + (ITEMS_PER_CATEGORY * re.random(E) ** 3).astype(np.int64)
    is_search = etype == SEARCH
    qpick = (re.random(E) * _Q_COUNT[ecat]).astype(np.int64)
    session_ids = tagged("s", counter + np.arange(S), 10)
    cat_names = np.asarray(CATEGORIES, dtype=object)
    events = pd.DataFrame(
        {
            "user_id": ids[user[sess]],
            "ts": iso_ts(start_epoch + t * DAY_S + sec),
            "event_type": np.asarray(EVENT_TYPES)[etype],
            "session_id": session_ids[sess],
            "item_id": np.where(has_item, ITEM_IDS[item_no].astype(object), None),
            "category": np.where(has_item | is_search, cat_names[ecat], None),
            "query": np.where(is_search, _QUERY_TABLE[ecat, qpick].astype(object), None),
            "device": np.asarray(DEVICES)[device[sess]],
            "_sec": sec,
        }
    )
    events = events.sort_values("_sec", kind="stable").drop(columns="_sec").reset_index(drop=True)
    return events, start + duration


def _session_events(mode: np.ndarray, re: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Event types and session numbers of the sessions' events, each session's events in their order."""
    S = len(mode)
    counts = _FIXED[mode] + re.poisson(_MEAN[mode])
    counts[:, 0] = re.random(S) < P_LOGIN
    counts[:, -1] = re.random(S) < P_LOGOUT
    n_types = counts.shape[1]
    flat = counts.ravel()
    etype = np.repeat(np.tile(np.arange(n_types), S), flat)
    sess = np.repeat(np.repeat(np.arange(S), n_types), flat)
    key = _KEY_BASE[etype] + _KEY_SPAN[etype] * re.random(len(etype))
    order = np.lexsort((key, sess))
    return etype[order], sess[order]


def _event_seconds(sess: np.ndarray, S: int, re: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each session's start and duration, and each event's second of the day."""
    E = len(sess)
    # offsets within the session
    first = np.r_[True, sess[1:] != sess[:-1]]
    gaps = np.minimum(re.exponential(40.0, E), 240.0).round().astype(np.int64) + 1
    gaps[first] = 0
    csum = np.cumsum(gaps)
    offset = csum - np.maximum.accumulate(np.where(first, csum, 0))
    duration = np.zeros(S, np.int64)
    np.maximum.at(duration, sess, offset)
    start = np.clip(np.minimum(_start_seconds(S, re), DAY_S - 120 - duration), 0, None)
    sec = np.minimum(start[sess] + offset, DAY_S - 1)
    return start, duration, sec
