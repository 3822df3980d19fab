"""The embedded data simulator: layout, determinism, messy rows, calibration and the planted signals.

One medium shop (4,000 users x 150 days) is simulated once per module and shared; determinism tests
use tiny shops. Bounds are looser than the default-size calibration targets (the shop is smaller),
but every test can fail.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from churn_assets.simulate import ShopConfig, simulate_shop
from churn_assets.simulate import signals as S
from churn_assets.simulate.evaluate import auc, labelled_truth, load_landing
from churn_assets.simulate.messy import MESSY_TYPES
from churn_assets.warehouse.contract import EVENT_TYPES, ORDER_STATUSES, REVIEW_KINDS, SOURCES

SHOP = ShopConfig(n_users=4_000, n_days=150, seed=3, messy_share=0.02, review_rate=0.15)
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SUFFIX = {"users": ".csv", "orders": ".csv", "events": ".jsonl", "reviews": ".parquet"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("shop")
    return out, simulate_shop(out, SHOP)


@pytest.fixture(scope="module")
def data(shop) -> dict[str, pd.DataFrame]:
    return load_landing(shop[0], ("users", "orders", "reviews", "events"))


@pytest.fixture(scope="module")
def labels(shop, data) -> pd.DataFrame:
    """Truth + realized label for every as-of date with a fully observed horizon."""
    return labelled_truth(shop[0], data["orders"], first_as_of=0)


def _tiny(tmp_path: Path, name: str, **kw) -> tuple[Path, dict]:
    out = tmp_path / name
    cfg = dataclasses.replace(ShopConfig(n_users=300, n_days=25, messy_share=0.05), **kw)
    return out, simulate_shop(out, cfg)


def _files(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "summary.json"
    }


# --- API, determinism -------------------------------------------------------------------------


def test_config_defaults_and_frozen():
    cfg = ShopConfig()
    assert (cfg.n_users, cfg.n_days, cfg.seed, cfg.start_date) == (20_000, 180, 7, date(2026, 1, 1))
    assert (cfg.messy_share, cfg.horizon_days, cfg.lookback_days, cfg.truth_every_days) == (0.01, 30, 90, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_users = 5  # type: ignore[misc]
    with pytest.raises(ValueError):
        ShopConfig(messy_share=0.9)


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a_dir, a = _tiny(tmp_path, "a", seed=5)
    b_dir, b = _tiny(tmp_path, "b", seed=5)
    c_dir, c = _tiny(tmp_path, "c", seed=6)
    fa, fb, fc = _files(a_dir), _files(b_dir), _files(c_dir)
    assert fa.keys() == fb.keys() == fc.keys()
    assert fa == fb
    assert {k: a[k] for k in ("rows", "messy")} == {k: b[k] for k in ("rows", "messy")}
    different = [k for k in fa if fa[k] != fc[k]]
    assert any("orders" in k for k in different) and any("events" in k for k in different)
    assert "truth/churn_truth.parquet" in different


def test_messiness_does_not_change_the_truth_or_the_real_rows(tmp_path):
    clean_dir, _ = _tiny(tmp_path, "clean", messy_share=0.0)
    messy_dir, summary = _tiny(tmp_path, "messy", messy_share=0.1)
    assert sum(summary["messy_total"].values()) > 50
    truth = [pd.read_parquet(d / "truth" / "churn_truth.parquet") for d in (clean_dir, messy_dir)]
    pd.testing.assert_frame_equal(truth[0], truth[1])
    clean, messy = load_landing(clean_dir), load_landing(messy_dir)
    keys = {"users": ["user_id"], "orders": ["order_id"], "reviews": ["user_id", "ts", "kind", "text"]}
    for kind, key in keys.items():  # a duplicate may come before its original: compare as sets of rows
        a, b = (x[kind].sort_values(key).reset_index(drop=True) for x in (clean, messy))
        pd.testing.assert_frame_equal(a, b)


def test_cli_prints_summary(tmp_path, capsys):
    from churn_assets.simulate.__main__ import main

    main(["--users", "200", "--days", "12", "--seed", "2", "--out", str(tmp_path / "cli"), "--messy-share", "0.03"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["rows"]["orders"] > 0 and printed["config"]["n_users"] == 200
    assert len(list((tmp_path / "cli" / "landing" / "orders").glob("*.csv"))) == 12


# --- layout -----------------------------------------------------------------------------------


def test_one_file_per_day_and_kind_with_contract_columns(shop):
    out, summary = shop
    days = [(SHOP.start_date + timedelta(days=k)).isoformat() for k in range(SHOP.n_days)]
    for kind, suffix in SUFFIX.items():
        names = sorted(p.name for p in (out / "landing" / kind).iterdir())
        assert names == [d + suffix for d in days], kind
    spec = SOURCES
    for kind in ("users", "orders"):
        with open(out / "landing" / kind / f"{days[3]}.csv", newline="") as fh:
            assert next(csv.reader(fh)) == spec[kind].column_names
    keys = {tuple(obj) for obj in _json_objects(out / "landing" / "events" / f"{days[3]}.jsonl")[0]}
    assert keys == {tuple(spec["events"].column_names)}
    schema = pq.read_schema(out / "landing" / "reviews" / f"{days[40]}.parquet")
    assert schema.names == spec["reviews"].column_names
    assert str(schema.field("ts").type) == "string"
    assert summary["rows"]["users"] == SHOP.n_users


def test_values_follow_the_contract(shop, data):
    users, orders, events, reviews = data["users"], data["orders"], data["events"], data["reviews"]
    assert len(users) == SHOP.n_users and users["user_id"].str.fullmatch(r"u\d{7}").all()
    first = pd.read_csv(shop[0] / "landing" / "users" / f"{SHOP.start_date}.csv", dtype=str, on_bad_lines="skip")
    past = pd.to_datetime(first["signup_ts"], format="%Y-%m-%dT%H:%M:%SZ", errors="coerce")
    assert (past < pd.Timestamp(SHOP.start_date)).sum() > 0.25 * SHOP.n_users  # the pre-existing base
    assert orders["order_id"].is_unique and len(orders) == shop[1]["rows"]["orders"]
    assert set(orders["status"]) == set(ORDER_STATUSES)
    assert (orders["amount"] >= 0).all() and (orders["discount"] >= 0).all() and (orders["quantity"] >= 1).all()
    assert 0.05 < (orders["discount"] > 0).mean() < 0.5
    cancelled = orders["status"] == "cancelled"
    assert orders.loc[cancelled, "delivery_days"].isna().all() and orders.loc[~cancelled, "delivery_days"].notna().all()
    assert set(events["event_type"]) == set(EVENT_TYPES)
    searches = events[events["event_type"] == "search"]
    assert searches["query"].notna().all() and events.loc[events["event_type"] != "search", "query"].isna().all()
    assert events["session_id"].notna().all() and events["device"].notna().all()
    assert set(reviews["kind"]) == set(REVIEW_KINDS)
    rated = reviews[reviews["kind"] == "review"]
    assert rated["rating"].between(1, 5).all() and set(rated["rating"]) == {1, 2, 3, 4, 5}
    assert reviews.loc[reviews["kind"] == "question", "rating"].isna().all()
    assert reviews["text"].str.len().min() > 10 and reviews["text"].nunique() > 0.5 * len(reviews)
    assert set(reviews["user_id"]) <= set(users["user_id"]) and set(orders["user_id"]) <= set(users["user_id"])


def test_truth_files(shop, data):
    out = shop[0]
    truth = pd.read_parquet(out / "truth" / "churn_truth.parquet")
    assert list(truth.columns) == ["user_id", "as_of_date"] + ["p_churn"]
    assert truth["p_churn"].between(0, 1).all()
    assert truth["as_of_date"].nunique() == SHOP.n_days
    # every user with a paid order by the as-of date, nobody else
    paid = data["orders"][data["orders"]["status"] == "paid"]
    d = pd.Timestamp(SHOP.start_date + timedelta(days=60))
    buyers = set(paid.loc[paid["ts"] < d + pd.Timedelta(days=1), "user_id"])
    assert set(truth.loc[pd.to_datetime(truth["as_of_date"]) == d, "user_id"]) == buyers
    latent = pd.read_parquet(out / "truth" / "users.parquet")
    assert len(latent) == SHOP.n_users and {"lam0", "h0", "final_alive"} <= set(latent.columns)
    assert json.loads((out / "truth" / "summary.json").read_text())["rows"] == shop[1]["rows"]


def test_truth_every_days_thins_the_truth(tmp_path):
    out, _ = _tiny(tmp_path, "thin", truth_every_days=5)
    truth = pd.read_parquet(out / "truth" / "churn_truth.parquet")
    assert truth["as_of_date"].nunique() == 5


# --- messy rows -------------------------------------------------------------------------------


def _json_objects(path: Path) -> tuple[list[dict], int]:
    """(parsed objects, number of lines that are not JSON objects)."""
    objects, bad = [], 0
    for line in path.read_text().splitlines():
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError:
            bad += 1
    return objects, bad


def _csv_rows(folder: Path) -> list[tuple[date, list[str], list[list[str]]]]:
    out = []
    for p in sorted(folder.glob("*.csv")):
        with open(p, newline="") as fh:
            header, *rows = list(csv.reader(fh))
        out.append((date.fromisoformat(p.stem), header, rows))
    return out


def test_messy_rows_at_the_configured_share_and_of_each_type(shop):
    out, summary = shop
    for kind, types in MESSY_TYPES.items():
        counts = summary["messy"][kind]
        assert set(counts) == set(types) and all(n > 0 for n in counts.values()), kind
        if kind in ("orders", "events"):
            share = sum(counts.values()) / summary["rows"][kind]
            assert 0.7 * SHOP.messy_share < share < 1.3 * SHOP.messy_share, (kind, share)
    # the orders files hold exactly what the summary says
    known = set(load_landing(out, ("users",))["users"]["user_id"])
    found = dict.fromkeys(MESSY_TYPES["orders"], 0)
    for day, header, rows in _csv_rows(out / "landing" / "orders"):
        good = [r for r in rows if len(r) == len(header)]
        found["malformed"] += len(rows) - len(good)
        df = pd.DataFrame(good, columns=header)
        found["duplicate"] += int(df.duplicated().sum())
        ts = pd.to_datetime(df["ts"], format="%Y-%m-%dT%H:%M:%SZ", errors="coerce")
        found["bad_timestamp"] += int(ts.isna().sum())
        found["future_timestamp"] += int((ts.dt.date > day).sum())
        found["negative_amount"] += int((df["amount"].astype(float) < 0).sum())
        found["unknown_user"] += int((~df["user_id"].isin(known)).sum())
    assert found == summary["messy"]["orders"]
    bad_json = sum(_json_objects(p)[1] for p in (out / "landing" / "events").glob("*.jsonl"))
    assert bad_json == summary["messy"]["events"]["malformed"]


def test_ingestion_reader_sees_the_malformed_lines(shop):
    read_files = pytest.importorskip("churn_assets.ingest.read_files")
    out, summary = shop
    for kind in ("users", "orders"):
        n = sum(
            len(read_files.read_landing_file(p, SOURCES[kind]).malformed) for p in (out / "landing" / kind).iterdir()
        )
        assert n == summary["messy"][kind]["malformed"], kind
    for p in sorted((out / "landing" / "events").iterdir())[:10]:  # events are many: ten days
        read = read_files.read_landing_file(p, SOURCES["events"])
        objects, bad = _json_objects(p)
        assert len(read.malformed) == bad and len(read.rows) == len(objects)


# --- calibration and signals ------------------------------------------------------------------


def test_churn_rate_and_oracle_auc(labels):
    start = min(labels["as_of_date"])
    later = labels[[(d - start).days >= 45 for d in labels["as_of_date"]]]
    rate = later["churned"].mean()
    assert 0.2 <= rate <= 0.45, rate
    assert abs(later["p_churn"].mean() - rate) < 0.03  # the truth is calibrated
    oracle = auc(later["churned"], later["p_churn"])
    assert 0.78 <= oracle <= 0.92, oracle
    # ... and it is a real ceiling: better than recency-free guessing by the user's order count
    top = later["p_churn"] > later["p_churn"].quantile(0.8)
    assert later.loc[top, "churned"].mean() > 2 * later.loc[~top, "churned"].mean()


def test_orders_per_user_long_tailed(data):
    per_user = data["orders"].groupby("user_id").size().reindex(data["users"]["user_id"], fill_value=0)
    assert 1 <= per_user.median() <= 4
    assert per_user.max() >= 30 and per_user.quantile(0.99) >= 4 * max(per_user.median(), 1)
    assert 0.1 < (per_user == 0).mean() < 0.4


def test_churners_were_less_active(data, labels):
    sample = labels[labels["as_of_date"].isin(sorted(labels["as_of_date"].unique())[45::10])]
    act = S.recent_activity(data["events"], sample)
    assert act["churners"] < 0.75 * act["stayers"], act


def test_late_deliveries_raise_churn(data, labels):
    late = S.late_signal(data["orders"], labels)
    assert late["n_late"] > 200
    assert late["churn_late"] > late["churn_on_time"] + 0.03, late


def test_order_of_complaint_and_searches_matters(data, labels):
    """Complaint, then searches without a purchase: far more churn than searches, then a complaint."""
    sample = labels[labels["as_of_date"].isin(sorted(labels["as_of_date"].unique())[::3])]
    groups = S.complaint_search_groups(data["orders"], data["reviews"], data["events"], sample)
    sig = S.order_signal(groups)
    assert sig["n_a"] >= 40 and sig["n_b"] >= 40, sig
    assert sig["stratified_diff"] > 0.12, sig
    assert sig["churn_a"] > sig["churn_b"] + 0.12, sig


def test_review_wording_matters_beyond_the_rating(data, labels):
    tab = S.text_signal(data["reviews"], labels).set_index(["rating", "grievance"])
    for rating in (3, 4):  # both wordings are common at both ratings: the rating does not reveal it
        assert tab.loc[(rating, True), "n"] >= 15 and tab.loc[(rating, False), "n"] >= 50
    problem = (tab.xs(True, level="grievance")["churn"] * tab.xs(True, level="grievance")["n"]).sum() / tab.xs(
        True, level="grievance"
    )["n"].sum()
    neutral = (tab.xs(False, level="grievance")["churn"] * tab.xs(False, level="grievance")["n"]).sum() / tab.xs(
        False, level="grievance"
    )["n"].sum()
    assert problem > neutral + 0.05, tab
    assert problem > 1.3 * neutral, tab


def test_hard_review_phrasings_sit_on_their_side_of_the_rating(data):
    """Sarcasm and "would (not) say" complaints only on 1-2 stars, negated praise only on 4-5, all present."""
    from churn_assets_tests.test_simulate_text import LOW_FRAME, NEGATED_PRAISE, PRAISE_FRAME, SARCASM

    rated = data["reviews"][(data["reviews"]["kind"] == "review") & data["reviews"]["rating"].between(1, 5)]
    for pattern, side in ((SARCASM, (1, 2)), (LOW_FRAME, (1, 2)), (NEGATED_PRAISE, (4, 5)), (PRAISE_FRAME, (4, 5))):
        ratings = rated.loc[rated["text"].str.contains(pattern), "rating"]
        assert len(ratings) >= 30 and set(ratings) <= set(side), (pattern.pattern[:60], ratings.value_counts())
