"""Hand-made raw rows and helpers to build the SQL models in an in-memory DuckDB.

The scenario (all timestamps UTC, 2024 is a leap year). The as-of date the tests look at is
AS_OF = 2024-03-31; the data runs from 2024-01-01 (u1's first order) to 2024-05-12 (u1's last order),
so the as-of grid is every 7 days back from 2024-05-12 down to 2024-02-04 (>= 2024-01-01 + 28 days).

- u1: signed up 2023-06-01 (north / ads / gold); a regular buyer with events and reviews.
- u2: signed up 2024-03-15, two orders in March, no events or reviews (new user).
- u3: no users row; one paid order 2024-01-20 (tenure from the first order; dormant), buys again 2024-04-20.
- u4: only a cancelled order (never active).
- u5: one paid order 2024-01-02 (active at 2024-03-31, 89 days later, but not at 2024-04-07).

u1's reviews come with the text model's scores (REVIEW_SCORES, ml.review_negativity): two delivery complaints
(ages 9 and -5 at AS_OF) and a product-quality complaint at age 107.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from churn_assets.ingest.store import ensure_tables
from churn_assets.warehouse.contract import SOURCES
from churn_assets.warehouse.sql_project import load_models, run_model, topo_order
from churn_assets.warehouse.tables import ensure_review_negativity

# Every parameter the SQL models bind, with the defaults of churn_assets.defs.resources.PipelineSettings.
DEFAULT_SQL_PARAMS: dict[str, Any] = {
    "as_of_step_days": 7,
    "min_history_days": 28,
    "lookback_days": 90,
    "horizon_days": 30,
    "activity": "orders",
    "late_delivery_days": 5,
    "high_frequency_orders": 4,
    "loyal_tenure_days": 180,
    "loyal_min_orders": 5,
    "new_user_days": 30,
    "dormant_days": 60,
    "sequence_max_items": 160,
    "until_date": "",
}

AS_OF = date(2024, 3, 31)
# the point-in-time feature tables and the mart that joins them
FEATURE_TABLES = (
    "features.user_activity",
    "features.user_orders",
    "features.user_reviews",
    "features.user_profile",
    "features.user_text_signals",
    "marts.user_features",
)
META_COLUMNS = ("_partition_date", "_source_file", "_source_line", "_ingested_at")
_line = itertools.count(1)


def ts(text: str) -> datetime:
    """'2024-03-31 23:50' or '2024-03-31' -> datetime."""
    return datetime.fromisoformat(text)


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    partition_date: date | None = None,
    source_file: str | None = None,
) -> int:
    """Append rows to raw.<kind> the way ingestion would: missing contract columns are NULL; the
    partition defaults to the day of the row's timestamp."""
    spec = SOURCES[kind]
    time_col = spec.time_column
    records = []
    for row in rows:
        unknown = set(row) - set(spec.column_names)
        if unknown:
            raise KeyError(f"raw.{kind} has no columns {sorted(unknown)}")
        rec = {c: row.get(c) for c in spec.column_names}
        rec[time_col] = ts(rec[time_col]) if isinstance(rec[time_col], str) else rec[time_col]
        day = partition_date or rec[time_col].date()
        rec["_partition_date"] = day
        rec["_source_file"] = source_file or f"landing/{kind}/{day.isoformat()}/{kind}.csv"
        rec["_source_line"] = next(_line)
        rec["_ingested_at"] = datetime(2024, 6, 1)
        records.append(rec)
    if not records:
        return 0
    cols = [*spec.column_names, *META_COLUMNS]
    placeholders = ", ".join("?" for _ in cols)
    quoted = ", ".join(f'"{c}"' for c in cols)
    con.executemany(
        f"INSERT INTO raw.{kind} ({quoted}) VALUES ({placeholders})", [[r[c] for c in cols] for r in records]
    )
    return len(records)


def empty_db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET threads = 1")
    for spec in SOURCES.values():
        ensure_tables(con, spec)
    ensure_review_negativity(con)
    return con


def build_models(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Run every SQL model in dependency order; returns row counts per table."""
    params = {**DEFAULT_SQL_PARAMS, **(params or {})}
    models = load_models()
    return {m.key: run_model(con, m, params) for m in topo_order(models)}


def frame(con: duckdb.DuckDBPyConnection, table: str, as_of: date | None = None) -> pd.DataFrame:
    """The table (or its rows at one as-of date) sorted by user_id, as_of_date."""
    where = "WHERE as_of_date = ?" if as_of is not None else ""
    df = con.execute(f"SELECT * FROM {table} {where} ORDER BY user_id, as_of_date", [as_of] if as_of else []).df()
    return df.reset_index(drop=True)


def row(con: duckdb.DuckDBPyConnection, table: str, user_id: str, as_of: date = AS_OF) -> dict[str, Any]:
    df = con.execute(f"SELECT * FROM {table} WHERE user_id = ? AND as_of_date = ?", [user_id, as_of]).df()
    assert len(df) == 1, f"{table}: expected one row for {user_id} at {as_of}, got {len(df)}"
    return df.iloc[0].to_dict()


# --------------------------------------------------------------------------------------------------
# the hand-made scenario

USERS = [
    {"user_id": "u1", "signup_ts": "2023-06-01 09:00", "region": "north", "channel": "ads", "membership": "gold"},
    {"user_id": "u2", "signup_ts": "2024-03-15 12:00", "region": None, "channel": "organic", "membership": None},
    {"user_id": "u4", "signup_ts": "2024-01-05 12:00", "region": "south", "channel": "ads", "membership": "none"},
    {"user_id": "u5", "signup_ts": "2023-12-20 12:00", "region": "east", "channel": "email", "membership": "silver"},
]


def _order(user, oid, when, amount, status="paid", category=None, discount=0.0, delivery_days=None, quantity=1):
    return {
        "user_id": user,
        "order_id": oid,
        "ts": when,
        "amount": amount,
        "status": status,
        "quantity": quantity,
        "category": category,
        "discount": discount,
        "delivery_days": delivery_days,
    }


ORDERS = [
    # u1: paid purchase days 01-01, 01-15, 02-14, 03-05, 03-25 (two orders) before AS_OF
    _order("u1", "o1", "2024-01-01 10:00", 100.0, category="Books", delivery_days=2),
    _order("u1", "o2", "2024-01-15 10:00", 50.0, category="books", discount=10.0, delivery_days=7),
    _order("u1", "o3", "2024-02-01 10:00", 70.0, status="returned", category="books", delivery_days=4),
    _order("u1", "o4", "2024-02-14 10:00", 80.0, category="toys", delivery_days=3),
    _order("u1", "o5", "2024-03-05 10:00", 120.0, category="garden", discount=20.0, delivery_days=6),
    _order("u1", "o6", "2024-03-20 10:00", 30.0, status="cancelled", category="toys"),
    _order("u1", "o7", "2024-03-25 08:00", 40.0, category="books", delivery_days=1),
    _order("u1", "o8", "2024-03-25 18:00", 60.0, category="toys", delivery_days=2),
    _order("u1", "o9", "2024-04-10 10:00", 90.0, category="books", delivery_days=2),
    _order("u1", "o10", "2024-05-12 10:00", 30.0, category="books", delivery_days=2),
    # u2: new user, a late delivery that is visible at AS_OF and a delivery that is not finished yet
    _order("u2", "o20", "2024-03-16 10:00", 20.0, category="electronics", delivery_days=10),
    _order("u2", "o21", "2024-03-29 10:00", 30.0, category="electronics", delivery_days=3),
    # u3: no users row, no category
    _order("u3", "o30", "2024-01-20 10:00", 200.0),
    _order("u3", "o31", "2024-04-20 10:00", 25.0),
    # u4: never paid
    _order("u4", "o40", "2024-03-01 10:00", 15.0, status="cancelled"),
    # u5: one old order
    _order("u5", "o50", "2024-01-02 10:00", 45.0, category="garden"),
]


def _events(user, session, *items):
    return [
        {"user_id": user, "session_id": session, "ts": when, "event_type": kind, "item_id": None}
        for when, kind in items
    ]


EVENTS = [
    # u1, as seen at AS_OF = 2024-03-31 (age in days):
    *_events(
        "u1", "s6", ("2024-03-31 23:50", "page_view"), ("2024-04-01 00:20", "page_view")
    ),  # age 0, crosses midnight
    *_events(
        "u1",
        "s1",
        ("2024-03-30 10:00", "login"),
        ("2024-03-30 10:05", "page_view"),
        ("2024-03-30 10:10", "search"),
        ("2024-03-30 10:20", "add_to_cart"),
    ),  # age 1, 20 min, has a cart
    *_events(
        "u1",
        "s2",
        ("2024-03-28 20:00", "login"),
        ("2024-03-28 20:10", "page_view"),
        ("2024-03-28 20:15", "click"),
        ("2024-03-28 20:40", "search"),
    ),  # age 3, 40 min
    *_events("u1", "s3", ("2024-03-25 09:00", "search"), ("2024-03-25 09:30", "page_view")),  # age 6, 30 min, paid day
    *_events(
        "u1", None, ("2024-03-15 14:00", "login"), ("2024-03-15 14:45", "page_view")
    ),  # age 16, 45 min, no session id
    *_events(
        "u1",
        "s4",
        ("2024-03-10 12:00", "login"),
        ("2024-03-10 12:00", "page_view"),
        ("2024-03-10 12:05", "page_view"),
        ("2024-03-10 12:10", "search"),
        ("2024-03-10 12:12", "search"),
    ),  # age 21, 12 min
    *_events("u1", "s5", ("2024-02-20 08:00", "login"), ("2024-02-20 08:30", "page_view")),  # age 40, 30 min
    *_events("u1", "s7", ("2024-04-02 09:00", "login")),  # after AS_OF
]

REVIEWS = [
    {"user_id": "u1", "ts": "2023-12-15 10:00", "rating": 2, "text": "broken", "kind": "complaint"},  # age 107
    {"user_id": "u1", "ts": "2024-02-10 10:00", "rating": None, "text": "where is my order?", "kind": "question"},
    {"user_id": "u1", "ts": "2024-03-20 10:00", "rating": 5, "text": "great", "kind": "review", "order_id": "o5"},
    {"user_id": "u1", "ts": "2024-03-22 10:00", "rating": 1, "text": "late delivery", "kind": "complaint"},
    {"user_id": "u1", "ts": "2024-04-05 10:00", "rating": 1, "text": "still late", "kind": "complaint"},  # after AS_OF
]


# the text model's scores of REVIEWS (ml.review_negativity): P(bad experience) and the complaint topic, set on
# complaints and texts with P(bad) >= 0.5 (ml/complaint_topics.py)
REVIEW_SCORES = [
    {"user_id": "u1", "ts": "2023-12-15 10:00", "kind": "complaint", "p_negative": 0.8, "topic": "product_quality"},
    {"user_id": "u1", "ts": "2024-02-10 10:00", "kind": "question", "p_negative": 0.4, "topic": None},
    {"user_id": "u1", "ts": "2024-03-20 10:00", "kind": "review", "p_negative": 0.05, "topic": None},
    {"user_id": "u1", "ts": "2024-03-22 10:00", "kind": "complaint", "p_negative": 0.9, "topic": "delivery"},
    {"user_id": "u1", "ts": "2024-04-05 10:00", "kind": "complaint", "p_negative": 0.85, "topic": "delivery"},
]


def insert_review_scores(con: duckdb.DuckDBPyConnection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append rows to ml.review_negativity (review_date: the day of ts; topic NULL unless given)."""
    records = []
    for r in rows:
        when = ts(r["ts"]) if isinstance(r["ts"], str) else r["ts"]
        records.append([r["user_id"], when, when.date(), r["kind"], r["p_negative"], r.get("topic")])
    con.executemany(
        "INSERT INTO ml.review_negativity (user_id, ts, review_date, kind, p_negative, topic) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        records,
    )


def scenario_db(events: bool = True, reviews: bool = True, users: bool = True) -> duckdb.DuckDBPyConnection:
    """Raw tables with the hand-made rows (optional sources can be left empty), not yet built."""
    con = empty_db()
    if users:
        insert_rows(con, "users", USERS)
    insert_rows(con, "orders", ORDERS)
    # the same order delivered again in a later partition and another file: staging keeps one
    insert_rows(con, "orders", [ORDERS[1]], partition_date=date(2024, 1, 16), source_file="landing/orders/again.csv")
    if events:
        insert_rows(con, "events", EVENTS)
        insert_rows(con, "events", EVENTS[2:4], partition_date=date(2024, 4, 1), source_file="landing/events/again.csv")
    if reviews:
        insert_rows(con, "reviews", REVIEWS)
        insert_review_scores(con, REVIEW_SCORES)
        insert_rows(
            con, "reviews", REVIEWS[2:3], partition_date=date(2024, 3, 21), source_file="landing/reviews/again.csv"
        )
    return con
