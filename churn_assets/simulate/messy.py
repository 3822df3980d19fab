"""Messy rows, added to a landing file on top of its real rows (the ground truth never sees them).

Every messy row is one a correct ingestion must reject or drop: a malformed line, an exact duplicate,
an unparseable or far-future timestamp, a negative amount, an unknown user, an out-of-range rating.
Rows that are not exact duplicates get fresh keys (order ids, user ids of the users file), so that
keeping the first occurrence of a key can never drop a real row in favour of a messy one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn_assets.simulate.config import DAY_S
from churn_assets.simulate.population import id_width, iso_ts, tagged

MESSY_TYPES: dict[str, tuple[str, ...]] = {
    "users": ("malformed", "duplicate", "bad_timestamp", "future_timestamp"),
    "orders": ("malformed", "duplicate", "bad_timestamp", "future_timestamp", "negative_amount", "unknown_user"),
    "events": ("malformed", "duplicate", "bad_timestamp", "future_timestamp", "unknown_user"),
    "reviews": ("duplicate", "bad_timestamp", "future_timestamp", "unknown_user", "bad_rating"),
}
TS_COLUMN = {"users": "signup_ts", "orders": "ts", "events": "ts", "reviews": "ts"}
BAD_TIMESTAMPS = np.array(
    [
        "2026-13-45T99:00:00Z",
        "yesterday",
        "not a date",
        "31/02/2026 25:61",
        "2026-02-30T10:00:00Z",
        "0000-00-00T00:00:00Z",
    ]
)


class MessyMaker:
    """Draws the messy rows of each file from its own random stream."""

    def __init__(self, share: float, n_users: int, rng: np.random.Generator):
        self.share = share
        self.n_users = n_users
        self.width = id_width(n_users)
        self.rng = rng
        self.fresh = 0  # counter of fresh keys
        self.counts: dict[str, dict[str, int]] = {k: dict.fromkeys(v, 0) for k, v in MESSY_TYPES.items()}

    def _unknown_users(self, n: int) -> np.ndarray:
        numbers = self.n_users + self.rng.integers(1, 10**6, size=n)
        return tagged("u", numbers, self.width)

    def _fresh_ids(self, prefix: str, n: int) -> np.ndarray:
        out = tagged(prefix, self.fresh + np.arange(n), 8)
        self.fresh += n
        return out

    def make(self, kind: str, df: pd.DataFrame, day_epoch: int) -> tuple[pd.DataFrame, np.ndarray]:
        """Messy rows for one file of `kind` whose real rows are `df`.

        Returns (rows that parse but must be rejected, with df's columns; kinds of malformation for
        malformed lines, which the writer renders from the first rows of a copy).
        """
        rng = self.rng
        n = int(rng.binomial(len(df), self.share)) if len(df) and self.share > 0 else 0
        types = np.asarray(MESSY_TYPES[kind])[rng.integers(0, len(MESSY_TYPES[kind]), size=n)]
        for name in types:
            self.counts[kind][str(name)] += 1
        messy = (
            df.iloc[rng.integers(0, len(df), size=n)].reset_index(drop=True).astype(object)
            if n
            else df.iloc[:0].astype(object)
        )
        ts_col = TS_COLUMN[kind]
        sel = types == "bad_timestamp"
        messy.loc[sel, ts_col] = BAD_TIMESTAMPS[rng.integers(0, len(BAD_TIMESTAMPS), size=int(sel.sum()))]
        sel = types == "future_timestamp"
        future = day_epoch + 365 * DAY_S + rng.integers(0, DAY_S, size=int(sel.sum()))
        messy.loc[sel, ts_col] = iso_ts(future)
        sel = types == "unknown_user"
        messy.loc[sel, "user_id"] = self._unknown_users(int(sel.sum()))
        if kind == "orders":
            sel = types == "negative_amount"
            messy.loc[sel, "amount"] = -np.round(messy.loc[sel, "amount"].astype(float).to_numpy() + 0.5, 2)
            sel = types != "duplicate"
            messy.loc[sel, "order_id"] = self._fresh_ids("ox", int(sel.sum()))
        if kind == "users":
            sel = types != "duplicate"
            messy.loc[sel, "user_id"] = self._unknown_users(int(sel.sum()))
        if kind == "reviews":
            sel = types == "bad_rating"
            messy.loc[sel, "rating"] = rng.choice([0, 6, 9, -1], size=int(sel.sum()))
        malformed = types == "malformed"
        return messy[~malformed].reset_index(drop=True), messy[malformed].reset_index(drop=True)

    def positions(self, n_clean: int, n_extra: int) -> np.ndarray:
        return np.sort(self.rng.integers(0, n_clean + 1, size=n_extra))

    def break_csv_lines(self, lines: list[str]) -> list[str]:
        """Malformed CSV lines: a field too few, a field too many, quotes spanning fields, wrong delimiter."""
        out = []
        for line, v in zip(
            lines, self.rng.integers(0, 4, size=len(lines)), strict=False
        ):  # loop over the few messy lines
            fields = line.split(",")
            if v == 0:
                out.append(",".join(fields[:-2]))
            elif v == 1:
                out.append(line + ',"extra, field",x')
            elif v == 2:
                out.append('"' + ",".join(fields[:3]) + '",' + ",".join(fields[3:]))
            else:
                out.append(";".join(fields))
        return out

    def break_json_lines(self, lines: list[str]) -> list[str]:
        """Malformed JSONL lines: truncated, single-quoted, missing comma."""
        out = []
        for line, v in zip(lines, self.rng.integers(0, 3, size=len(lines)), strict=False):
            if v == 0:
                out.append(line[: max(5, int(len(line) * 0.6))])
            elif v == 1:
                out.append(line.replace('"', "'"))
            else:
                out.append(line.replace(",", " ", 1))
        return out

    def summary(self) -> dict[str, dict[str, int]]:
        return {k: dict(v) for k, v in self.counts.items()}
