"""Complaint topics (ml/complaint_topics.py): hand-written labelled texts per language (none a copy of a seed),
the simulator's complaint wording, which texts get a topic, and the topic column of ml.review_negativity."""

from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from churn_assets.ml.complaint_topics import (
    ASPECTS,
    TOPICS,
    complaint_topic,
    complaint_topics,
    negative_text_topics,
    topic_matches,
)
from churn_assets.simulate import text as sim
from churn_assets.warehouse.tables import ensure_review_negativity, fill_missing_topics

LABELLED = Path(__file__).parent / "fixtures" / "complaint_topics.csv"


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    df = pd.read_csv(LABELLED)
    return df.assign(predicted=complaint_topics(df["text"]))


def test_the_labelled_set_covers_every_topic_in_each_language(labelled):
    counts = labelled.groupby(["language", "topic"]).size().unstack(fill_value=0)
    assert set(labelled["topic"]) == set(TOPICS)
    assert (counts.loc["en"] >= 8).all()
    assert (counts.loc[["pt", "zh", "es"]] >= 4).all().all()


@pytest.mark.parametrize("language", ["en", "pt", "zh", "es"])
def test_topics_of_labelled_texts(labelled, language):
    part = labelled[labelled["language"] == language]
    accuracy = (part["predicted"] == part["topic"]).mean()
    assert accuracy >= 0.8, part.loc[part["predicted"] != part["topic"], ["text", "topic", "predicted"]]
    # a named topic, when given, is nearly always right: unknown wording falls to "other" rather than elsewhere
    named = part[part["predicted"] != "other"]
    assert (named["predicted"] == named["topic"]).mean() >= 0.9


# Written after the seeds were frozen and never used to change them: the one truly held-out measure. Extending the
# seeds to fix its misses would make it in-sample like complaint_topics.csv; add a fresh batch instead.
HELD_OUT = Path(__file__).parent / "fixtures" / "complaint_topics_held_out.csv"


def test_topics_of_texts_the_seeds_were_never_fitted_to():
    df = pd.read_csv(HELD_OUT)
    assert set(df["language"]) == {"en", "pt", "zh"} and set(df["topic"]) == set(ASPECTS)
    predicted = np.asarray(complaint_topics(df["text"]))
    assert (predicted == df["topic"]).mean() >= 0.6  # thresholds set before the first measurement (0.883)
    named = predicted != "other"
    assert (predicted[named] == df["topic"][named]).mean() >= 0.85  # measured 0.964


# cancelled orders: the shop failed to serve, so "service" (refund_return is for what the customer asks back)
SIMULATED = {
    sim.C_DELIVERY: "delivery",
    sim.C_SUPPORT: "service",
    sim.C_QUALITY: "product_quality",
    sim.C_REFUND: "refund_return",
    sim.C_CANCEL: "service",
}


@pytest.mark.parametrize(("code", "topic"), SIMULATED.items())
def test_simulated_complaints_get_their_topic(code, topic):
    rng = np.random.default_rng(code)
    texts = sim.complaint_texts(np.full(400, code), rng.integers(0, len(sim.PRODUCTS), 400), rng)
    assert (complaint_topics(texts) == topic).all()


def test_simulated_grievances_get_their_topic():
    assert set(complaint_topics(sim.GRIEVANCE_DELIVERY_TEXT)) == {"delivery"}
    assert set(complaint_topics(sim.GRIEVANCE_SUPPORT_TEXT)) == {"service"}


@pytest.mark.parametrize(("code", "topic"), [(sim.GRIEVANCE_DELIVERY, "delivery"), (sim.GRIEVANCE_SUPPORT, "service")])
def test_simulated_grievance_reviews_get_their_topic(code, topic):
    """Ratings 1-4 (5-star praise with a downside does not read as bad). Praise of the product ("excellent
    quality") is no complaint about it; a review may name a second grievance, and sarcasm ("fantastic delivery,
    the box looked crushed") can hide one, so a few go elsewhere, never to quality or price."""
    rng = np.random.default_rng(code)
    rating = rng.integers(1, 5, 1000)
    topics = complaint_topics(
        sim.review_texts(np.full(1000, code), rating, rng.integers(0, len(sim.PRODUCTS), 1000), rng)
    )
    assert (topics == topic).mean() >= 0.9
    assert not np.isin(topics, ["product_quality", "price"]).any()


def test_praise_of_an_aspect_is_not_a_complaint_about_it():
    assert complaint_topic("Excellent quality and fast delivery, but support never answered my emails.") == "service"
    assert complaint_topic("Qualidade ótima, mas o vendedor nunca respondeu.") == "service"
    assert complaint_topic("质量很好，但是退款一直没到账") == "refund_return"
    assert complaint_topic("The delivery was not on time at all.") == "delivery"


def test_ties_empty_texts_and_languages_without_seeds():
    assert topic_matches("") == dict.fromkeys(ASPECTS, 0)
    assert complaint_topic(None) == "other" and complaint_topic("   ") == "other"
    # one delivery and one price match: delivery comes first in the tie order
    assert topic_matches("The lamp is fine for the price, but delivery took forever.")["price"] >= 1
    assert complaint_topic("The lamp is fine for the price, but delivery took forever.") == "delivery"
    # French has no seed table: every table is tried
    assert complaint_topic("Le remboursement? Toujours pas, refund jamais reçu.") == "refund_return"
    assert complaint_topic("物流太慢，客服也不回复，客服态度差") == "service"


def test_only_complaints_and_negative_texts_get_a_topic():
    texts = ["The parcel never arrived.", "The parcel never arrived.", "Love it", "Why was my order cancelled?"]
    topics = negative_text_topics(texts, ["review", "review", "review", "complaint"], [0.9, 0.2, 0.5, 0.1])
    assert list(topics) == ["delivery", None, "other", "service"]


def test_an_older_score_table_gets_the_topic_column_and_its_complaints_a_topic():
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA ml")
    con.execute(
        "CREATE TABLE ml.review_negativity (user_id VARCHAR, ts TIMESTAMP, review_date DATE, kind VARCHAR, "
        "p_negative DOUBLE)"
    )
    con.execute("CREATE SCHEMA staging")
    rows = [
        ("u1", datetime(2026, 5, 1, 9), "complaint", 0.2, "Still waiting for my refund."),
        ("u1", datetime(2026, 5, 2, 9), "review", 0.9, "The courier lost my parcel."),
        ("u2", datetime(2026, 5, 2, 9), "review", 0.1, "Great shoes, fast delivery."),
    ]
    con.execute("CREATE TABLE staging.reviews (user_id VARCHAR, ts TIMESTAMP, kind VARCHAR, text VARCHAR)")
    for user, when, kind, p, text in rows:
        con.execute("INSERT INTO staging.reviews VALUES (?, ?, ?, ?)", [user, when, kind, text])
        con.execute("INSERT INTO ml.review_negativity VALUES (?, ?, ?, ?, ?)", [user, when, when.date(), kind, p])
    ensure_review_negativity(con)
    ensure_review_negativity(con)  # twice: nothing changes
    got = con.execute("SELECT user_id, kind, topic FROM ml.review_negativity ORDER BY user_id, ts").fetchall()
    assert got == [("u1", "complaint", None), ("u1", "review", None), ("u2", "review", None)]
    assert fill_missing_topics(con) == 2
    got = con.execute("SELECT user_id, kind, topic FROM ml.review_negativity ORDER BY user_id, ts").fetchall()
    assert got == [("u1", "complaint", "refund_return"), ("u1", "review", "delivery"), ("u2", "review", None)]
    assert fill_missing_topics(con) == 0
