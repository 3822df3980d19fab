"""Point in time and neutral sources: no feature sees rows after its as-of date, and shops without events,
reviews or users (or users with visits only) get neutral features, checked on the hand-made rows of
sql_fixtures.py (AS_OF = 2024-03-31)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from churn_assets.ml.complaint_topics import ASPECTS
from churn_assets_tests.sql_fixtures import (
    AS_OF,
    FEATURE_TABLES,
    build_models,
    frame,
    insert_review_scores,
    insert_rows,
    row,
    scenario_db,
)


def test_no_leakage_from_rows_after_the_as_of_date():
    con = scenario_db()
    build_models(con)
    before = {t: frame(con, t, AS_OF) for t in ("intermediate.active_users", *FEATURE_TABLES)}
    # rows dated after AS_OF (but before the last data day, so the as-of grid stays the same)
    insert_rows(
        con, "users", [{"user_id": "u3", "signup_ts": "2024-04-05 08:00", "region": "west", "membership": "gold"}]
    )
    insert_rows(
        con,
        "orders",
        [
            {
                "user_id": "u2",
                "order_id": "o22",
                "ts": "2024-04-01 00:00",
                "amount": 99.0,
                "status": "paid",
                "category": "toys",
            },
            {"user_id": "u5", "order_id": "o51", "ts": "2024-04-03 12:00", "amount": 10.0, "status": "refunded"},
            {"user_id": "u7", "order_id": "o70", "ts": "2024-04-02 12:00", "amount": 10.0, "status": "paid"},
        ],
    )
    insert_rows(
        con,
        "events",
        [
            {"user_id": "u1", "session_id": "s6", "ts": "2024-04-01 00:40", "event_type": "search"},
            {"user_id": "u2", "session_id": "x1", "ts": "2024-04-01 00:00", "event_type": "login"},
            {"user_id": "u5", "session_id": "x2", "ts": "2024-04-09 10:00", "event_type": "add_to_cart"},
        ],
    )
    insert_rows(
        con,
        "reviews",
        [
            {"user_id": "u1", "ts": "2024-04-01 00:00", "rating": 1, "text": "awful", "kind": "complaint"},
            {"user_id": "u5", "ts": "2024-04-02 10:00", "rating": 2, "text": "meh", "kind": "review"},
        ],
    )
    insert_review_scores(
        con,
        [
            {"user_id": "u1", "ts": "2024-04-01 00:00", "kind": "complaint", "p_negative": 0.95, "topic": "service"},
            {"user_id": "u5", "ts": "2024-04-02 10:00", "kind": "review", "p_negative": 0.7, "topic": "price"},
        ],
    )
    build_models(con)
    for table, df in before.items():
        pd.testing.assert_frame_equal(frame(con, table, AS_OF), df, obj=table)
    # ... while later as-of dates do see them
    assert row(con, "features.user_orders", "u2", date(2024, 4, 7))["orders_total"] == 3
    assert row(con, "features.user_reviews", "u1", date(2024, 4, 7))["complaints_30d"] == 3
    later = row(con, "features.user_text_signals", "u1", date(2024, 4, 7))
    assert (later["complaints_delivery_30d"], later["days_since_complaint_delivery"]) == (2, 2)
    assert (later["complaints_service_30d"], later["days_since_complaint_service"]) == (1, 6)


def test_neutral_features_without_events_reviews_and_users():
    con = scenario_db(events=False, reviews=False, users=False)
    counts = build_models(con)
    assert counts["staging.events"] == counts["staging.reviews"] == counts["staging.users"] == 0
    mart = frame(con, "marts.user_features", AS_OF).set_index("user_id")
    assert list(mart.index) == ["u1", "u2", "u3", "u5"]
    zero = [
        "logins_7d",
        "sessions_30d",
        "page_views_90d",
        "clicks_30d",
        "searches_7d",
        "add_to_cart_90d",
        "searches_without_purchase_30d",
        "events_total",
        "reviews_90d",
        "negative_share_90d",
        "complaints_30d",
        "complaints_90d",
        "questions_90d",
        "reviews_total",
        "has_profile",
        *(f"complaints_{t}_30d" for t in ASPECTS),
    ]
    assert (mart[zero] == 0).all().all()
    null = [
        "avg_session_minutes_30d",
        "sessions_trend_7_30",
        "page_views_trend_7_30",
        "days_since_last_event",
        "rating_mean_90d",
        "rating_min_90d",
        "days_since_last_complaint",
        "text_neg_max_90d",
        *(f"days_since_complaint_{t}" for t in ASPECTS),
    ]
    assert mart[null].isna().all().all()
    assert set(mart["region"]) == set(mart["channel"]) == {"unknown"} and set(mart["membership"]) == {"none"}
    # orders alone still give the order features; tenure counts from the first order
    assert mart.loc["u1", "orders_total"] == 6 and mart.loc["u1", "tenure_days"] == 90
    assert set(mart["tenure_source"]) == {"first_order"}
    for table in FEATURE_TABLES:
        assert len(frame(con, table)) == counts["intermediate.active_users"], table


def test_visit_only_users_get_neutral_order_features():
    con = scenario_db(users=False)
    insert_rows(con, "events", [{"user_id": "u6", "session_id": "v1", "ts": "2024-03-20 10:00", "event_type": "login"}])
    build_models(con, {"activity": "orders_or_visits"})
    r = row(con, "marts.user_features", "u6")
    assert (r["orders_total"], r["orders_all_total"], r["bgnbd_frequency"], r["cancel_rate"]) == (0, 0, 0, 0)
    assert pd.isna(r["days_since_last_order"]) and pd.isna(r["bgnbd_T"]) and pd.isna(r["amount_mean"])
    assert (r["logins_30d"], r["days_since_last_event"]) == (1, 11)
    assert (r["tenure_days"], r["tenure_source"]) == (11, "first_event")
    assert (r["tag_dormant"], r["tag_low_frequency"], r["tag_new"]) == (1, 1, 1)
