"""The point-in-time feature SQL models, checked against answers worked out by hand.

The raw rows and the hand computations live in sql_fixtures.py; AS_OF = 2024-03-31. Ages are days
before AS_OF (a w-day window holds ages 0 .. w-1).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from churn_assets_tests.sql_fixtures import (
    AS_OF,
    FEATURE_TABLES,
    build_models,
    frame,
    row,
    scenario_db,
)


@pytest.fixture(scope="module")
def con():
    con = scenario_db()
    build_models(con)
    yield con
    con.close()


def keys(con, table, as_of=None):
    df = frame(con, table, as_of)
    return {(r.user_id, pd.Timestamp(r.as_of_date).date()) for r in df.itertuples()}


# -- grid, scope, labels, staging -------------------------------------------------------------------


def test_as_of_grid_steps_back_from_the_last_data_day(con):
    got = [r[0] for r in con.execute("SELECT as_of_date FROM intermediate.as_of_dates ORDER BY 1").fetchall()]
    # last day 2024-05-12 (u1's last order), first day 2024-01-01 -> no date before 2024-01-29
    assert got == [date(2024, 5, 12) - timedelta(days=7 * k) for k in range(14, -1, -1)]
    assert got[0] == date(2024, 2, 4)


def test_feature_rows_exist_exactly_for_active_users(con):
    active = keys(con, "intermediate.active_users")
    for table in FEATURE_TABLES:
        assert keys(con, table) == active, table
        n, distinct = con.execute(f"SELECT count(*), count(DISTINCT (user_id, as_of_date)) FROM {table}").fetchone()
        assert n == distinct == len(active), table
    assert {u for u, _ in keys(con, "intermediate.active_users", AS_OF)} == {"u1", "u2", "u3", "u5"}
    # u5's only order (2024-01-02) is 89 days old at AS_OF but 96 days old a week later; u4 never paid
    assert {u for u, _ in keys(con, "intermediate.active_users", date(2024, 4, 7))} == {"u1", "u2", "u3"}
    assert not any(u == "u4" for u, _ in active)


def test_churn_labels_for_hand_made_cases(con):
    labels = frame(con, "labels.churn_labels", AS_OF).set_index("user_id")["churned"].to_dict()
    # u1 buys 2024-04-10, u3 buys 2024-04-20 (inside (03-31, 04-30]); u2 and u5 do not
    assert labels == {"u1": 0, "u2": 1, "u3": 0, "u5": 1}
    # 2024-04-07 + 30 <= 2024-05-12 is labelled; from 2024-04-14 the horizon runs past the data
    dates = {r[0] for r in con.execute("SELECT DISTINCT as_of_date FROM labels.churn_labels").fetchall()}
    assert max(dates) == date(2024, 4, 7)
    assert (
        con.execute("SELECT count(*) FROM labels.churn_labels WHERE as_of_date >= DATE '2024-04-14'").fetchone()[0] == 0
    )


def test_staging_deduplicates_rows_delivered_twice(con):
    for kind, extra in (("orders", 1), ("events", 2), ("reviews", 1)):
        raw = con.execute(f"SELECT count(*) FROM raw.{kind}").fetchone()[0]
        staged = con.execute(f"SELECT count(*) FROM staging.{kind}").fetchone()[0]
        assert raw - staged == extra, kind
    # the duplicated order o2 counts once
    assert row(con, "features.user_orders", "u1", date(2024, 2, 4))["orders_total"] == 2


# -- behaviour --------------------------------------------------------------------------------------


def test_activity_window_counts(con):
    r = row(con, "features.user_activity", "u1")
    expected = {
        # 7 days: s6 (age 0), s1 (1), s2 (3), s3 (6); 30 days adds the session-less day (16) and s4 (21); 90 adds s5 (40)
        "logins_7d": 2,
        "logins_30d": 4,
        "logins_90d": 5,
        "sessions_7d": 4,
        "sessions_30d": 6,
        "sessions_90d": 7,
        "page_views_7d": 4,
        "page_views_30d": 7,
        "page_views_90d": 8,
        "clicks_7d": 1,
        "clicks_30d": 1,
        "clicks_90d": 1,
        "searches_7d": 3,
        "searches_30d": 5,
        "searches_90d": 5,
        "add_to_cart_7d": 1,
        "add_to_cart_30d": 1,
        "add_to_cart_90d": 1,
        "days_since_last_event": 0,
        "events_total": 20,  # the 2024-04-01 and 2024-04-02 events are in the future
    }
    assert {k: int(r[k]) for k in expected} == expected


def test_sessions_minutes_trends_and_unanswered_searches(con):
    r = row(con, "features.user_activity", "u1")
    # s6 is cut at the end of AS_OF (0 min), s1 20, s2 40, s3 30, session-less day 45, s4 12
    assert r["avg_session_minutes_30d"] == pytest.approx((0 + 20 + 40 + 30 + 45 + 12) / 6)
    assert r["sessions_trend_7_30"] == pytest.approx(4 / (6 * 7 / 30))
    assert r["page_views_trend_7_30"] == pytest.approx(4 / (7 * 7 / 30))
    # s2: 1 search; s4: 2 searches; s1 has a cart, s3 is on a paid-order day
    assert r["searches_without_purchase_30d"] == 3
    # a week later s6 is whole (23:50 -> 00:20, 30 min) and s7 (one event, 0 min) has happened
    later = row(con, "features.user_activity", "u1", date(2024, 4, 7))
    assert later["sessions_7d"] == 2  # s6 (last event 04-01), s7 (04-02)
    assert later["days_since_last_event"] == 5
    assert later["avg_session_minutes_30d"] == pytest.approx((30 + 0 + 20 + 40 + 30 + 45 + 12) / 7)


def test_visit_habits_and_visits_after_the_last_complaint(con):
    r = row(con, "features.user_activity", "u1")
    # sessions s6, s1, s2, s3 within 14 days; 7 sessions on 7 visit days, the first (s5) 40 days back
    assert {k: int(r[k]) for k in ("sessions_14d", "sessions_total", "visit_days_total", "days_since_first_event")} == {
        "sessions_14d": 4,
        "sessions_total": 7,
        "visit_days_total": 7,
        "days_since_first_event": 40,
    }
    assert r["sessions_per_day"] == pytest.approx(7 / 41)
    assert r["visit_recency_over_typical_gap"] == 0  # visited on the as-of day
    # last complaint in 30 days: 03-22; later days: s3 (1 search), s2 (1 search), s1 (1 search, 1 cart), s6
    assert (r["sessions_after_complaint"], r["searches_after_complaint"], r["add_to_cart_after_complaint"]) == (4, 3, 1)
    later = row(con, "features.user_activity", "u1", date(2024, 4, 7))
    # s6 reaches 04-01 and s7 is on 04-02: 8 sessions on 9 visit days; silent for 5 days
    assert (later["sessions_total"], later["visit_days_total"], later["days_since_first_event"]) == (8, 9, 47)
    assert later["visit_recency_over_typical_gap"] == pytest.approx(5 * 9 / 48)
    # the 04-05 complaint was followed by no visit at all
    assert (
        later["sessions_after_complaint"],
        later["searches_after_complaint"],
        later["add_to_cart_after_complaint"],
    ) == (0, 0, 0)
    u2 = row(con, "features.user_activity", "u2")  # no events, no complaint
    assert u2["sessions_total"] == 0 and pd.isna(u2["sessions_per_day"]) and pd.isna(u2["sessions_after_complaint"])


def test_activity_is_neutral_for_users_without_events(con):
    r = row(con, "features.user_activity", "u2")
    assert r["sessions_30d"] == 0 and r["logins_90d"] == 0 and r["searches_without_purchase_30d"] == 0
    assert pd.isna(r["avg_session_minutes_30d"]) and pd.isna(r["sessions_trend_7_30"])
    assert pd.isna(r["days_since_last_event"])


# -- orders -----------------------------------------------------------------------------------------


def test_order_frequency_gaps_and_recency(con):
    r = row(con, "features.user_orders", "u1")
    # paid orders at ages 90 (01-01), 76, 46, 26, 6, 6
    assert (r["orders_7d"], r["orders_30d"], r["orders_90d"], r["orders_total"]) == (2, 3, 5, 6)
    assert (r["days_since_last_order"], r["days_since_first_order"]) == (6, 90)
    # purchase days 01-01, 01-15, 02-14, 03-05, 03-25: gaps 14, 30, 20, 20
    assert r["mean_gap_days"] == pytest.approx(21.0)
    assert r["std_gap_days"] == pytest.approx(math.sqrt((49 + 81 + 1 + 1) / 4))
    assert r["recency_over_typical_gap"] == pytest.approx(6 / 21)
    u2 = row(con, "features.user_orders", "u2")
    assert (u2["mean_gap_days"], u2["std_gap_days"]) == (13.0, 0.0)
    assert u2["recency_over_typical_gap"] == pytest.approx(2 / 13)
    u3 = row(con, "features.user_orders", "u3")  # a single purchase: no gap yet
    assert pd.isna(u3["mean_gap_days"]) and pd.isna(u3["std_gap_days"]) and pd.isna(u3["recency_over_typical_gap"])


def test_order_money_and_categories(con):
    r = row(con, "features.user_orders", "u1")
    assert r["amount_sum_90d"] == pytest.approx(50 + 80 + 120 + 40 + 60)
    assert r["amount_sum_total"] == pytest.approx(450)
    assert (r["amount_mean"], r["amount_max"], r["amount_min"]) == (75.0, 120.0, 40.0)
    assert r["discount_share"] == pytest.approx(30 / 480)
    # paid orders: books 3 (one spelled 'Books'), toys 2, garden 1
    assert r["category_count"] == 3
    assert r["category_entropy"] == pytest.approx(-(0.5 * math.log(0.5) + math.log(1 / 3) / 3 + math.log(1 / 6) / 6))
    u2 = row(con, "features.user_orders", "u2")
    assert (u2["category_count"], u2["category_entropy"]) == (1, 0.0)
    u3 = row(con, "features.user_orders", "u3")  # no category given: 'unknown' is not a category
    assert (u3["category_count"], u3["category_entropy"]) == (0, 0.0)


def test_order_status_rates_and_deliveries(con):
    r = row(con, "features.user_orders", "u1")
    # 8 orders so far: 6 paid, 1 returned, 1 cancelled
    assert r["orders_all_total"] == 8
    assert (r["cancel_rate"], r["refund_rate"], r["return_rate"]) == (0.125, 0.0, 0.125)
    # late (> 5 days): o2 (7 days, age 76) and o5 (6 days, age 26)
    assert (r["late_deliveries_30d"], r["late_deliveries_90d"]) == (1, 2)
    # delivered by AS_OF: 2, 7, 4, 3, 6, 1, 2 days
    assert r["mean_delivery_days"] == pytest.approx(25 / 7)
    u2 = row(con, "features.user_orders", "u2")
    # o20 (10 days, age 15) is visibly late; o21 (3 days, age 2) is still on its way: not in the mean
    assert (u2["late_deliveries_30d"], u2["mean_delivery_days"]) == (1, 10.0)
    u3 = row(con, "features.user_orders", "u3")
    assert u3["late_deliveries_90d"] == 0 and pd.isna(u3["mean_delivery_days"])


def test_bgnbd_inputs(con):
    got = {
        u: tuple(int(row(con, "features.user_orders", u)[c]) for c in ("bgnbd_frequency", "bgnbd_recency", "bgnbd_T"))
        for u in ("u1", "u2", "u3", "u5")
    }
    assert got == {"u1": (4, 84, 90), "u2": (1, 13, 15), "u3": (0, 0, 71), "u5": (0, 0, 89)}


# -- reviews and profile ----------------------------------------------------------------------------


def test_review_stats(con):
    r = row(con, "features.user_reviews", "u1")
    # in 90 days: question (age 50, no rating), review 5 (age 11), complaint 1 (age 9); complaint at age 107 is out
    assert r["reviews_90d"] == 1
    assert r["rating_mean_90d"] == pytest.approx(3.0)
    assert r["rating_min_90d"] == 1
    assert r["negative_share_90d"] == pytest.approx(0.5)
    assert (r["complaints_30d"], r["complaints_90d"], r["questions_90d"]) == (1, 1, 1)
    assert r["days_since_last_complaint"] == 9
    assert r["reviews_total"] == 4
    u2 = row(con, "features.user_reviews", "u2")
    assert u2["reviews_90d"] == 0 and u2["negative_share_90d"] == 0
    assert pd.isna(u2["rating_mean_90d"]) and pd.isna(u2["days_since_last_complaint"])


def test_complaint_topics(con):
    r = row(con, "features.user_text_signals", "u1")
    # the delivery complaint at age 9 counts; the product-quality one (age 107) and the later one do not
    assert (r["complaints_delivery_30d"], r["days_since_complaint_delivery"]) == (1, 9)
    assert r["complaints_product_quality_30d"] == 0 and pd.isna(r["days_since_complaint_product_quality"])
    assert r["text_neg_max_30d"] == pytest.approx(0.9) and r["text_neg_max_90d"] == pytest.approx(0.9)
    assert row(con, "features.user_text_signals", "u1", date(2024, 4, 7))["complaints_delivery_30d"] == 2


def test_profile(con):
    p = {u: row(con, "features.user_profile", u) for u in ("u1", "u2", "u3", "u5")}
    assert (p["u1"]["tenure_days"], p["u1"]["region"], p["u1"]["channel"], p["u1"]["membership"]) == (
        304,
        "north",
        "ads",
        "gold",
    )
    assert (p["u2"]["tenure_days"], p["u2"]["region"], p["u2"]["membership"]) == (16, "unknown", "none")
    # u3 has no users row: tenure from the first order
    assert (p["u3"]["tenure_days"], p["u3"]["tenure_source"], p["u3"]["region"], p["u3"]["has_profile"]) == (
        71,
        "first_order",
        "unknown",
        0,
    )


def test_tags(con):
    cols = ["tag_high_frequency", "tag_loyal", "tag_low_frequency", "tag_new", "tag_dormant"]
    got = frame(con, "marts.user_features", AS_OF).set_index("user_id")[cols].astype(int).to_dict("index")
    assert got == {
        "u1": dict(zip(cols, (1, 1, 0, 0, 0), strict=False)),  # 5 orders in 90 days, tenure 304, 6 orders
        "u2": dict(zip(cols, (0, 0, 0, 1, 0), strict=False)),  # tenure 16
        "u3": dict(zip(cols, (0, 0, 1, 0, 1), strict=False)),  # 1 order, 71 days ago
        "u5": dict(zip(cols, (0, 0, 1, 0, 1), strict=False)),  # 1 order, 89 days ago
    }


def test_thresholds_are_parameters():
    con = scenario_db()
    build_models(con, {"late_delivery_days": 6, "dormant_days": 80, "high_frequency_orders": 6, "loyal_min_orders": 7})
    assert row(con, "features.user_orders", "u1")["late_deliveries_90d"] == 1  # only o2 (7 days) is over 6
    mart = frame(con, "marts.user_features", AS_OF).set_index("user_id")
    assert mart["tag_dormant"].to_dict() == {"u1": 0, "u2": 0, "u3": 0, "u5": 1}
    assert mart["tag_high_frequency"].sum() == 0 and mart["tag_loyal"].sum() == 0


def test_mart_carries_the_feature_columns(con):
    mart = row(con, "marts.user_features", "u1")
    for table in FEATURE_TABLES[:-1]:
        feats = row(con, table, "u1")
        for col, value in feats.items():
            assert col in mart, f"{table}.{col} missing from the mart"
            assert (pd.isna(value) and pd.isna(mart[col])) or mart[col] == value, col
