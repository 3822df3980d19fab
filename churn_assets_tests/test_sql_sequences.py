"""The behaviour-sequence tokens and the review-text signals, built by SQL on hand-made rows."""

from datetime import date, datetime

import pandas as pd

from churn_assets.ml.complaint_topics import ASPECTS
from churn_assets_tests.sql_fixtures import build_models, empty_db, insert_review_scores, insert_rows, row

AS_OF = date(2024, 3, 31)


def shop():
    con = empty_db()
    insert_rows(
        con,
        "orders",
        [  # another customer spans the data window: as-of dates end on 2024-03-31
            {"user_id": "u9", "order_id": "o-first", "ts": "2024-01-01 10:00", "amount": 1.0},
            {"user_id": "u9", "order_id": "o-last", "ts": "2024-03-31 10:00", "amount": 1.0},
        ],
    )
    insert_rows(
        con,
        "orders",
        [
            {
                "user_id": "u1",
                "order_id": "o1",
                "ts": "2024-03-01 10:00",
                "amount": 30.0,
                "status": "paid",
                "category": "home",
                "delivery_days": 9.0,
            },
            {
                "user_id": "u1",
                "order_id": "o2",
                "ts": "2024-03-20 10:00",
                "amount": 7.0,
                "status": "refunded",
                "category": "books",
                "delivery_days": 2.0,
            },
        ],
    )
    insert_rows(
        con,
        "events",
        [
            {"user_id": "u1", "ts": "2024-03-25 08:00", "event_type": "login"},
            {"user_id": "u1", "ts": "2024-03-25 08:10", "event_type": "search"},
        ],
    )
    insert_rows(
        con,
        "reviews",
        [
            {"user_id": "u1", "ts": "2024-03-26 09:00", "rating": None, "text": "where is it", "kind": "complaint"},
        ],
    )
    return con


def test_tokens_in_time_order_with_gap_and_bucket_tokens():
    con = shop()
    build_models(con)
    tokens = row(con, "features.user_event_tokens", "u1", AS_OF)["event_tokens"].split()
    assert tokens == [
        "order_paid",
        "amt_4",
        "cat_home",  # 30 -> floor(log2(31)) = 4
        "gap_w1",
        "delivered_late",  # delivered 9 days later (> 5: late)
        "gap_w1",
        "order_refunded",
        "amt_3",
        "cat_books",
        "gap_d1",
        "delivered",
        "gap_d1",
        "login",
        "search",  # 10 minutes apart: no gap token
        "gap_d1",
        "complaint",
        "now_d3",  # 5 days from the complaint to the end of the as-of day
    ]


def test_tokens_are_deterministic_and_never_see_later_rows():
    con = shop()
    daily = {"as_of_step_days": 1}  # every day is an as-of date, before and after the later rows land
    build_models(con, daily)
    before = row(con, "features.user_event_tokens", "u1", AS_OF)["event_tokens"]
    insert_rows(con, "events", [{"user_id": "u1", "ts": "2024-04-01 00:00", "event_type": "logout"}])
    insert_rows(con, "orders", [{"user_id": "u1", "order_id": "o9", "ts": "2024-04-02 10:00", "amount": 5.0}])
    build_models(con, daily)
    assert row(con, "features.user_event_tokens", "u1", AS_OF)["event_tokens"] == before
    assert "logout" in row(con, "features.user_event_tokens", "u1", date(2024, 4, 1))["event_tokens"]


def test_sequence_keeps_only_the_latest_items():
    con = shop()
    build_models(con, {"sequence_max_items": 2})
    r = row(con, "features.user_event_tokens", "u1", AS_OF)
    assert r["sequence_items"] == 2
    assert r["event_tokens"] == "search gap_d1 complaint now_d3"


def test_a_shop_without_events_gets_an_empty_token_table_with_the_same_columns():
    with_events = shop()
    build_models(with_events)
    orders_only = shop()
    orders_only.execute("DELETE FROM raw.events")
    counts = build_models(orders_only)
    assert counts["intermediate.active_users"] > 0 and counts["features.user_event_tokens"] == 0
    columns = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'user_event_tokens'"
    assert orders_only.execute(columns).fetchall() == with_events.execute(columns).fetchall()
    # the mart reads the empty table as "no sequence"; with events u1's row holds its history
    assert row(orders_only, "marts.user_features", "u1", AS_OF)["event_tokens"] == "now_empty"
    assert row(orders_only, "marts.user_features", "u1", AS_OF)["sequence_items"] == 0
    assert row(with_events, "marts.user_features", "u1", AS_OF)["sequence_items"] == 7  # 2 orders, 2 deliveries, 3 more


def test_the_token_asset_notes_why_its_table_is_empty(tmp_path):
    import dagster as dg

    from churn_assets.defs.assets.sql_models import sql_assets
    from churn_assets.defs.resources import DuckDBWarehouse, PipelineSettings
    from churn_assets.warehouse.sql_project import load_models

    db = tmp_path / "churn.duckdb"
    orders_only = shop()
    orders_only.execute("DELETE FROM raw.events")
    build_models(orders_only)
    orders_only.execute(f"ATTACH '{db}' AS warehouse")
    for key in load_models()["features.user_event_tokens"].deps:  # the asset's inputs, in the warehouse file
        orders_only.execute(f"CREATE SCHEMA IF NOT EXISTS warehouse.{key.split('.')[0]}")
        orders_only.execute(f"CREATE TABLE warehouse.{key} AS SELECT * FROM {key}")
    orders_only.execute("DETACH warehouse")
    asset = next(a for a in sql_assets if a.key == dg.AssetKey(["features", "user_event_tokens"]))
    result = dg.materialize(
        [asset], resources={"duckdb": DuckDBWarehouse(path=str(db)), "settings": PipelineSettings()}
    )
    assert result.success
    meta = result.asset_materializations_for_node("features__user_event_tokens")[0].metadata
    assert meta["dagster/row_count"].value == 0
    assert "no events" in meta["note"].value


def test_text_signals_from_review_scores():
    con = shop()
    insert_review_scores(
        con,
        [
            {"user_id": "u1", "ts": datetime(2024, 3, 26, 9), "kind": "complaint", "p_negative": 0.9},
            {"user_id": "u1", "ts": datetime(2024, 2, 1, 9), "kind": "review", "p_negative": 0.1},
            {"user_id": "u1", "ts": datetime(2024, 4, 5, 9), "kind": "review", "p_negative": 1.0},  # after the as-of
        ],
    )
    build_models(con)
    r = row(con, "marts.user_features", "u1", AS_OF)
    assert r["text_neg_mean_30d"] == 0.9 and r["text_neg_max_30d"] == 0.9
    assert abs(r["text_neg_mean_90d"] - 0.5) < 1e-12 and r["text_neg_max_90d"] == 0.9


def test_complaint_topic_counts_and_ages():
    """Counts over the 30 days ending on the as-of date (ages 0..29), the latest within 90 days (ages 0..89);
    texts without a topic, topic 'other' and rows after the as-of date do not count."""
    con = shop()
    scores = [
        ("2024-03-31 23:00", "delivery"),  # age 0
        ("2024-03-02 09:00", "delivery"),  # age 29: in the 30 days
        ("2024-03-01 09:00", "price"),  # age 30: outside the 30 days, the latest price complaint
        ("2024-01-02 09:00", "service"),  # age 89: in the 90 days
        ("2024-01-01 09:00", "refund_return"),  # age 90: out
        ("2024-03-30 09:00", "other"),
        ("2024-03-29 09:00", None),
        ("2024-04-01 09:00", "product_quality"),  # after the as-of date
    ]
    insert_review_scores(
        con,
        [{"user_id": "u1", "ts": when, "kind": "complaint", "p_negative": 0.9, "topic": t} for when, t in scores],
    )
    build_models(con)
    r = row(con, "marts.user_features", "u1", AS_OF)
    counts = {t: r[f"complaints_{t}_30d"] for t in ASPECTS}
    assert counts == {"delivery": 2, "product_quality": 0, "price": 0, "service": 0, "refund_return": 0}
    assert (r["days_since_complaint_delivery"], r["days_since_complaint_price"]) == (0, 30)
    assert r["days_since_complaint_service"] == 89
    assert pd.isna(r["days_since_complaint_refund_return"]) and pd.isna(r["days_since_complaint_product_quality"])
