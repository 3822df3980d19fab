"""The feature SQL gives the same numbers, bit for bit, whatever order the rows come in.

DuckDB adds rows in the order its threads reach them, which changes from run to run; a float sum that depends on
the order then differs in the last bits, and a tree model can split differently on it. Feeding the same rows in
two physical orders exposes every such sum deterministically (no need to catch the threads at it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from churn_assets.ml.complaint_topics import TOPICS
from churn_assets.warehouse.scoring_features import feature_model_keys
from churn_assets_tests.sql_fixtures import build_models, empty_db, insert_rows

pytestmark = pytest.mark.reliability

START = datetime(2024, 1, 1)
CATEGORIES = ["books", "garden", "toys", "food", "tech", "home"]


def _raw_rows(seed: int = 3) -> dict[str, list[dict]]:
    """A few hundred users with many orders each (amounts in cents, not exact in binary), sessions and reviews."""
    rng = np.random.default_rng(seed)
    orders, events, reviews = [], [], []
    for u in range(300):
        user = f"u{u}"
        for k in range(int(rng.integers(3, 40))):
            when = START + timedelta(minutes=int(rng.integers(0, 150 * 24 * 60)))
            orders.append(
                {
                    "user_id": user,
                    "order_id": f"{user}-{k}",
                    "ts": when,
                    "amount": round(float(rng.uniform(3, 400)), 2),
                    "status": str(rng.choice(["paid", "paid", "paid", "cancelled", "returned"])),
                    "category": str(rng.choice(CATEGORIES)),
                    "discount": round(float(rng.uniform(0, 20)), 2),
                    "delivery_days": round(float(rng.uniform(0.5, 9)), 1),
                    "quantity": int(rng.integers(1, 4)),
                }
            )
        for s in range(int(rng.integers(0, 25))):
            begin = START + timedelta(minutes=int(rng.integers(0, 150 * 24 * 60)))
            for e in range(int(rng.integers(1, 6))):
                events.append(
                    {
                        "user_id": user,
                        "session_id": f"{user}-s{s}",
                        "item_id": f"i{e}",
                        "ts": begin + timedelta(seconds=int(rng.integers(0, 3600))),
                        "event_type": str(rng.choice(["login", "page_view", "search", "click", "add_to_cart"])),
                    }
                )
        for r in range(int(rng.integers(0, 6))):
            reviews.append(
                {
                    "user_id": user,
                    "ts": START + timedelta(days=int(rng.integers(0, 150)), minutes=r),
                    "rating": int(rng.integers(1, 6)),
                    "text": f"review {r}",
                    "kind": "review",
                }
            )
    return {"orders": orders, "events": events, "reviews": reviews}


RAW = ("raw.orders", "raw.events", "raw.reviews", "ml.review_negativity")


def _warehouse(rows: dict[str, list[dict]]):
    """Raw tables (and text scores) holding `rows`, in their order."""
    con = empty_db()
    for kind, kind_rows in rows.items():
        insert_rows(con, kind, kind_rows)
    scores = pd.DataFrame(
        [
            {
                "user_id": r["user_id"],
                "ts": r["ts"],
                "review_date": r["ts"].date(),
                "kind": r["kind"],
                "p_negative": (i * 0.6180339887) % 1.0,
                "topic": TOPICS[i % len(TOPICS)] if i % 3 else None,
            }
            for i, r in enumerate(rows["reviews"])
        ]
    )
    con.register("scores", scores)
    con.execute("INSERT INTO ml.review_negativity SELECT * FROM scores")
    con.unregister("scores")
    return con


def _shuffled_copy(con, seed: int):
    """The same raw rows in another physical order."""
    copy = empty_db()
    for table in RAW:
        df = con.execute(f"SELECT * FROM {table}").df().sample(frac=1.0, random_state=seed)
        copy.register("shuffled", df)
        copy.execute(f"INSERT INTO {table} SELECT * FROM shuffled")
        copy.unregister("shuffled")
    return copy


def test_features_are_identical_bit_for_bit_whatever_the_row_order():
    first = _warehouse(_raw_rows())
    second = _shuffled_copy(first, seed=11)
    for con in (first, second):  # empty_db runs one thread: only the row order differs between the two
        build_models(con)
    tables = feature_model_keys()
    compared = 0
    for table in tables:
        cols = [
            c
            for (c,) in first.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                table.split("."),
            ).fetchall()
        ]
        if not {"user_id", "as_of_date"} <= set(cols):
            continue
        a = first.execute(f"SELECT * FROM {table} ORDER BY user_id, as_of_date").df()
        b = second.execute(f"SELECT * FROM {table} ORDER BY user_id, as_of_date").df()
        assert len(a) == len(b) > 0, table
        for col in a.columns:
            x, y = a[col].to_numpy(), b[col].to_numpy()
            if np.issubdtype(x.dtype, np.floating):
                same = np.array_equal(x, y, equal_nan=True)
                compared += 1
                assert same, f"{table}.{col} depends on row order (max difference {np.nanmax(np.abs(x - y))})"
            else:
                assert (a[col].astype(str) == b[col].astype(str)).all(), f"{table}.{col}"
    assert compared > 20  # the float features were compared, not skipped
