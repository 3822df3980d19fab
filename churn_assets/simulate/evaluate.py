"""Reading a simulated shop back, for calibration checks and tests (independent of the ingestion code).

`load_landing` reads the landing files and drops what the simulator injected as messy (it knows the
kinds it makes); `realized_labels` computes the churn label the pipeline is meant to learn, and
`calibration` the figures the default shop is calibrated against.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from churn_assets.warehouse.contract import SOURCES

TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _day_of(path: Path) -> date:
    return date.fromisoformat(path.name[:10])


def _stamp(df: pd.DataFrame, col: str, day: date | None) -> pd.DataFrame:
    ts = pd.to_datetime(df[col], format=TS_FORMAT, errors="coerce")
    df = df.assign(**{col: ts})
    if day is not None:  # rows of another day (far-future ones) are messy
        df = df[ts.dt.date == day]
    return df[df[col].notna()]


def _read_csvs(folder: Path, columns: list[str]) -> list[tuple[date, pd.DataFrame]]:
    out = []
    for path in sorted(folder.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            header, *records = list(csv.reader(fh))
        records = [r for r in records if len(r) == len(header)]  # malformed lines have another width
        df = pd.DataFrame(records, columns=header, dtype=object).replace("", None)
        out.append((_day_of(path), df.reindex(columns=columns)))
    return out


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:  # evaluation helper, not the simulator: a plain loop is fine here
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                records.append(obj)
    return pd.DataFrame.from_records(records, columns=SOURCES["events"].column_names)


def load_landing(out_dir: Path, kinds: tuple[str, ...] = ("users", "orders", "reviews")) -> dict[str, pd.DataFrame]:
    """Clean frames per kind (events only when asked: they are big). Timestamps as naive UTC datetimes."""
    landing = Path(out_dir) / "landing"
    users_parts = []
    for day, df in _read_csvs(landing / "users", SOURCES["users"].column_names):
        df = _stamp(df[df["membership"].notna()], "signup_ts", None)
        users_parts.append(df[df["signup_ts"] < pd.Timestamp(day + timedelta(days=1))])  # no sign-ups from the future
    users = pd.concat(users_parts, ignore_index=True).drop_duplicates("user_id")
    known = set(users["user_id"])
    out = {"users": users}
    if "orders" in kinds:
        parts = []
        for day, df in _read_csvs(landing / "orders", SOURCES["orders"].column_names):
            df = df[df["discount"].notna() & df["user_id"].isin(known)]
            parts.append(_stamp(df, "ts", day))
        orders = pd.concat(parts, ignore_index=True)
        for col in ("amount", "discount", "delivery_days", "quantity"):
            orders[col] = pd.to_numeric(orders[col], errors="coerce")
        orders = orders[orders["amount"] >= 0].drop_duplicates("order_id")
        out["orders"] = orders.reset_index(drop=True)
    if "reviews" in kinds:
        parts = []
        for path in sorted((landing / "reviews").glob("*.parquet")):
            df = pd.read_parquet(path)
            df = df[df["user_id"].isin(known) & (df["rating"].isna() | df["rating"].between(1, 5))]
            parts.append(_stamp(df, "ts", _day_of(path)))
        out["reviews"] = pd.concat(parts, ignore_index=True).drop_duplicates().reset_index(drop=True)
    if "events" in kinds:
        parts = []
        for path in sorted((landing / "events").glob("*.jsonl")):
            df = _read_jsonl(path)
            parts.append(_stamp(df[df["user_id"].isin(known)], "ts", _day_of(path)))
        out["events"] = pd.concat(parts, ignore_index=True).drop_duplicates().reset_index(drop=True)
    return out


def realized_labels(
    orders: pd.DataFrame, start: date, n_days: int, as_of: list[date], horizon: int = 30, lookback: int = 90
) -> pd.DataFrame:
    """(user_id, as_of_date, churned) for users active at each as-of date (a paid order in the last
    `lookback` days, the as-of day included); churned = no paid order in (d, d + horizon]."""
    paid = orders[orders["status"] == "paid"]
    codes, uniques = pd.factorize(paid["user_id"])
    day = (paid["ts"].dt.normalize() - pd.Timestamp(start)).dt.days.to_numpy()
    counts = np.zeros((len(uniques), n_days + 1), dtype=np.int32)
    np.add.at(counts, (codes, day + 1), 1)
    cum = counts.cumsum(axis=1)  # cum[:, k] = paid orders on days < k
    frames = []
    for d in as_of:
        k = (d - start).days
        recent = cum[:, k + 1] - cum[:, max(k + 1 - lookback, 0)]
        future = cum[:, min(k + 1 + horizon, n_days)] - cum[:, k + 1]
        act = recent > 0
        frames.append(pd.DataFrame({"user_id": uniques[act], "as_of_date": d, "churned": future[act] == 0}))
    return pd.concat(frames, ignore_index=True)


def labelled_truth(out_dir: Path, orders: pd.DataFrame | None = None, first_as_of: int = 45) -> pd.DataFrame:
    """Truth joined with the realized label, for as-of dates whose horizon is fully observed."""
    out_dir = Path(out_dir)
    summary = json.loads((out_dir / "truth" / "summary.json").read_text())
    cfg = summary["config"]
    start, n_days = date.fromisoformat(cfg["start_date"]), int(cfg["n_days"])
    horizon, lookback = int(cfg["horizon_days"]), int(cfg["lookback_days"])
    if orders is None:
        orders = load_landing(out_dir, ("orders",))["orders"]
    last = n_days - 1 - horizon
    as_of = [start + timedelta(days=k) for k in range(first_as_of, last + 1)]
    labels = realized_labels(orders, start, n_days, as_of, horizon, lookback)
    truth = pd.read_parquet(out_dir / "truth" / "churn_truth.parquet")
    truth["as_of_date"] = pd.to_datetime(truth["as_of_date"]).dt.date
    return labels.merge(truth, on=["user_id", "as_of_date"], how="inner")


def auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(y, dtype=int), np.asarray(score, dtype=float)))


def calibration(out_dir: Path) -> dict:
    """The figures the default shop is calibrated against."""
    data = load_landing(out_dir, ("users", "orders", "reviews"))
    orders = data["orders"]
    lt = labelled_truth(out_dir, orders, first_as_of=0)
    start = min(lt["as_of_date"])
    lt["k"] = [(d - start).days for d in lt["as_of_date"]]
    by_range = {}
    for lo in range(0, int(lt["k"].max()) + 1, 15):
        sel = lt[(lt["k"] >= lo) & (lt["k"] < lo + 15)]
        by_range[f"day {lo}-{lo + 14}"] = {
            "active": int(len(sel) / max(sel["k"].nunique(), 1)),
            "churn_rate": round(float(sel["churned"].mean()), 3),
            "mean_p_churn": round(float(sel["p_churn"].mean()), 3),
        }
    late = lt[lt["k"] >= 45]
    per_user = orders.groupby("user_id").size().reindex(data["users"]["user_id"], fill_value=0)
    buyers = per_user[per_user > 0]
    return {
        "churn_rate_after_day_45": round(float(late["churned"].mean()), 4),
        "mean_p_churn_after_day_45": round(float(late["p_churn"].mean()), 4),
        "oracle_auc_after_day_45": round(auc(late["churned"], late["p_churn"]), 4),
        "by_as_of_range": by_range,
        "orders_per_buyer": {
            "buyers": int(len(buyers)),
            "median": float(buyers.median()),
            "p90": float(buyers.quantile(0.9)),
            "p99": float(buyers.quantile(0.99)),
            "max": int(buyers.max()),
            "share_with_1": round(float((buyers == 1).mean()), 3),
        },
        "orders_per_user": {  # all users, those who never ordered included
            "median": float(per_user.median()),
            "share_0": round(float((per_user == 0).mean()), 3),
            "p90": float(per_user.quantile(0.9)),
        },
        "orders": int(len(orders)),
        "paid_share": round(float((orders["status"] == "paid").mean()), 3),
        "reviews_by_kind": data["reviews"]["kind"].value_counts().to_dict(),
    }
