"""The day loop: evolve the latent state, render the day's landing files, write the truth.

Nothing of a day is kept once its files are written, except the per-user state (a few numpy arrays)
and the feedback (reviews, complaints) already scheduled for later days.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import numpy as np
import pandas as pd

from churn_assets.simulate.config import DAY_S, ShopConfig
from churn_assets.simulate.dynamics import (
    NEVER,
    decay,
    initial_state,
    make_calendar,
    order_intensity,
    p_no_paid_order,
    step_dropout,
)
from churn_assets.simulate.messy import MessyMaker
from churn_assets.simulate.orders import apply_shocks, draw_orders, feedback_frame, orders_frame
from churn_assets.simulate.population import draw_population, user_ids, users_frame
from churn_assets.simulate.sessions import BROWSE, FADING, PURCHASE, SHOPPING_AROUND, build_sessions
from churn_assets.simulate.writers import TruthWriter, append_jsonl, write_json, write_reviews, write_text_file

KINDS = ("users", "orders", "events", "reviews")
SHOPPING_AROUND_RATE = 0.4  # sessions per day of a customer who gave up, once the complaint is posted
D_BROWSE = 0.5  # dissatisfaction lowers visits as it lowers orders: rate * exp(-D_BROWSE * D)
FADE_DAYS = 2.0  # visits of a customer who left decay with this time constant
PROMO_BROWSE = 0.3  # extra browsing on sale days, times the discount responsiveness
SESSION_CHUNK = 50_000  # sessions rendered at once (events of a big day are written in parts)
VISIT_REGULARITY = 3.0  # gamma shape of the gaps between an active customer's visits (1 = Poisson; higher = habitual)


class VisitClock:
    """Habitual visits: each customer's visits form a renewal process in "operational time" (the browsing
    rate integrated over days), with gamma(k, 1/k) gaps of mean 1, so visits come more regularly than
    Poisson ones (k > 1) and a silence of a regular visitor says more."""

    def __init__(self, n: int, k: float, re: np.random.Generator):
        self.k = k
        self.next = re.gamma(k, 1.0 / k, size=n)
        self.clock = re.random(n) * self.next  # random phase

    def visits(self, who: np.ndarray, rate: np.ndarray, re: np.random.Generator) -> np.ndarray:
        """Visits of users `who` today, given today's rates; advances their clocks."""
        self.clock[who] += rate
        n = np.zeros(len(who), dtype=np.int64)
        due = np.flatnonzero(self.clock[who] >= self.next[who])
        while len(due):
            u = who[due]
            n[due] += 1
            self.clock[u] -= self.next[u]
            self.next[u] = re.gamma(self.k, 1.0 / self.k, size=len(u))
            due = due[self.clock[u] >= self.next[u]]
        return n


def _browse_sessions(st, pop, cal, t: int, clock: VisitClock, re: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(user, mode) of the day's sessions that are not purchases."""
    joined = st.joined
    alive = joined & st.alive
    searching = alive & st.giveup & (t > st.complaint_day)
    normal = alive & ~searching
    since = t - st.death_day
    fading = joined & ~st.alive & (since < 8 * FADE_DAYS)
    regular = np.flatnonzero(normal)
    rate = pop.browse0[regular] * st.e[regular] * np.exp(-D_BROWSE * st.D[regular]) * cal.season[t]
    rate *= 1 + PROMO_BROWSE * pop.rho[regular] * cal.promo[t]
    n_regular = clock.visits(regular, rate, re)
    other = np.zeros(len(joined))
    other[searching] = SHOPPING_AROUND_RATE
    other[fading] = 0.5 * pop.browse0[fading] * np.exp(-since[fading] / FADE_DAYS)
    who = np.flatnonzero(other > 0)
    n_other = re.poisson(other[who])
    user = np.sort(np.r_[np.repeat(regular, n_regular), np.repeat(who, n_other)], kind="stable")
    mode = np.where(searching[user], SHOPPING_AROUND, np.where(fading[user], FADING, BROWSE))
    return user, mode


def _write_events(path: Path, s_user, s_mode, s_cat, t: int, ctx: dict, counter: int) -> tuple[int, np.ndarray]:
    """Render all sessions of day t into one JSONL file, in parts; returns (rows, session ends)."""
    ends = np.zeros(len(s_user), dtype=np.int64)
    rows = 0
    with open(path, "w", encoding="utf-8") as fh:
        for lo in range(0, max(len(s_user), 1), SESSION_CHUNK):  # bounded memory for big shops
            part = slice(lo, lo + SESSION_CHUNK)
            events, ends[part] = build_sessions(
                s_user[part],
                s_mode[part],
                s_cat[part],
                t,
                ctx["start_epoch"],
                ctx["pop"],
                ctx["ids"],
                counter + lo,
                ctx["re"],
            )
            rows += append_jsonl(fh, "events", events, ctx["messy"], ctx["start_epoch"] + t * DAY_S)
    return rows, ends


def simulate_shop(out_dir: Path, config: ShopConfig | None = None) -> dict:
    """Simulate the shop day by day into out_dir/landing/<kind>/YYYY-MM-DD.* and out_dir/truth/.

    Returns a summary: rows written per kind, messy rows per kind and type, truth rows, elapsed seconds.
    """
    cfg = config or ShopConfig()
    started = time.perf_counter()
    out_dir = Path(out_dir)
    landing, truth_dir = out_dir / "landing", out_dir / "truth"
    for kind in KINDS:
        (landing / kind).mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)

    run = _ShopRun(cfg, landing)
    truth = TruthWriter(truth_dir / "churn_truth.parquet") if cfg.write_truth else None
    try:
        for t in range(cfg.n_days):
            run.day(t)
            # --- ground truth at the end of the day
            if truth is not None and t % cfg.truth_every_days == 0:
                run.write_truth(truth, t)
    finally:
        if truth is not None:
            truth.close()
    return _finish(cfg, run.pop, run.st, run.ids, truth_dir, run.rows, run.messy, truth, started)


class _ShopRun:
    """What the day loop carries from day to day: the random streams, the population and its latent state,
    the feedback scheduled for later days, and the counters of rows, orders and sessions."""

    def __init__(self, cfg: ShopConfig, landing: Path):
        self.cfg, self.landing = cfg, landing
        r_pop, r_cal, r_init, self.rs, self.re, r_messy = (
            np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(6)
        )
        self.pop = draw_population(cfg, r_pop)
        self.cal = make_calendar(cfg, r_cal)
        self.st = initial_state(self.pop, r_init)
        self.ids = user_ids(cfg.n_users)
        self.start_epoch = int(datetime.combine(cfg.start_date, dtime(0), tzinfo=UTC).timestamp())
        self.messy = MessyMaker(cfg.messy_share, cfg.n_users, r_messy)
        self.clock = VisitClock(cfg.n_users, VISIT_REGULARITY, self.re)
        self.ctx = {
            "pop": self.pop,
            "ids": self.ids,
            "start_epoch": self.start_epoch,
            "messy": self.messy,
            "re": self.re,
        }
        self.pending: dict[int, list[pd.DataFrame]] = {}  # feedback rows by the day they are posted
        self.rows = dict.fromkeys(KINDS, 0)
        self.order_counter = self.session_counter = 0

    def day(self, t: int) -> None:
        """Evolve day t and write its landing files."""
        stem = (self.cfg.start_date + timedelta(days=t)).isoformat()
        day_epoch = self.start_epoch + t * DAY_S
        lo, hi, orders = self._people_and_orders(t)
        self._sessions(t, stem, day_epoch, orders)
        reviews = self._reviews_due(t, orders)
        # --- the other files of the day
        users = users_frame(self.pop, self.ids, np.arange(lo, hi), self.start_epoch)
        landing, messy = self.landing, self.messy
        self.rows["users"] += write_text_file(
            landing / "users" / f"{stem}.csv", "users", users, messy, day_epoch, "csv"
        )
        self.rows["orders"] += write_text_file(
            landing / "orders" / f"{stem}.csv", "orders", orders_frame(orders, self.ids), messy, day_epoch, "csv"
        )
        self.rows["reviews"] += write_reviews(landing / "reviews" / f"{stem}.parquet", reviews, messy, day_epoch)

    def _people_and_orders(self, t: int):
        """Who is around today; who leaves; who orders; what the orders do to them.
        Returns (lo, hi, orders): users lo..hi-1 sign up today."""
        cfg, st, pop = self.cfg, self.st, self.pop
        lo = 0 if t == 0 else int(np.searchsorted(pop.signup_day, t, "left"))
        hi = int(np.searchsorted(pop.signup_day, t, "right"))
        st.joined[lo:hi] = True
        around = np.flatnonzero(st.joined & st.alive)
        decay(st, pop, around)
        step_dropout(st, pop, around, t, self.rs)
        alive = around[st.alive[around]]
        lam = order_intensity(st, pop, alive, t, self.cal)
        orders = draw_orders(cfg, pop, alive, lam, t, self.cal.promo[t], self.order_counter, self.rs, self.re)
        self.order_counter += len(orders)
        apply_shocks(st, pop, orders, self.rs)
        return lo, hi, orders

    def _sessions(self, t: int, stem: str, day_epoch: int, orders) -> None:
        """Sessions: one purchase session per order + browsing; the order follows its session."""
        b_user, b_mode = _browse_sessions(self.st, self.pop, self.cal, t, self.clock, self.re)
        s_user = np.r_[orders.user, b_user]
        s_mode = np.r_[np.full(len(orders), PURCHASE), b_mode]
        s_cat = np.r_[orders.category.astype(np.int64), np.full(len(b_user), -1)]
        path = self.landing / "events" / f"{stem}.jsonl"
        n_events, ends = _write_events(path, s_user, s_mode, s_cat, t, self.ctx, self.session_counter)
        self.rows["events"] += n_events
        self.session_counter += len(s_user)
        orders.ts = day_epoch + np.minimum(ends[: len(orders)] + self.re.integers(20, 120, len(orders)), DAY_S - 1)

    def _reviews_due(self, t: int, orders) -> pd.DataFrame:
        """Feedback is posted on its own (later) day: schedule today's, return what is due today."""
        feedback = feedback_frame(orders, self.pop, self.ids, t, self.start_epoch, self.re)
        for due, group in feedback.groupby("_day", sort=True):
            if due < self.cfg.n_days:
                self.pending.setdefault(int(due), []).append(group)
        todays = self.pending.pop(t, [])
        return pd.concat(todays, ignore_index=True).sort_values("ts", kind="stable") if todays else feedback.iloc[:0]

    def write_truth(self, truth: TruthWriter, t: int) -> None:
        eligible = np.flatnonzero(self.st.n_paid > 0)
        p = p_no_paid_order(self.st, self.pop, eligible, t, self.cfg.horizon_days, self.cal)
        truth.write(self.ids[eligible], self.cfg.start_date + timedelta(days=t), p)


def _finish(cfg, pop, st, ids, truth_dir: Path, rows: dict, messy: MessyMaker, truth, started: float) -> dict:
    latent = pop.frame(ids)
    for name in (
        "alive",
        "death_day",
        "giveup",
        "complaint_day",
        "n_paid",
        "late_orders",
        "failures",
        "complaints",
        "D",
        "e",
    ):
        latent[f"final_{name}"] = getattr(st, name)
    for name in ("final_death_day", "final_complaint_day"):
        latent.loc[latent[name] == NEVER, name] = -1
    latent.to_parquet(truth_dir / "users.parquet", index=False)
    summary = {
        "config": cfg.as_dict(),
        "first_day": cfg.start_date.isoformat(),
        "last_day": (cfg.start_date + timedelta(days=cfg.n_days - 1)).isoformat(),
        "rows": rows,
        "messy": messy.summary(),
        "messy_total": {k: sum(v.values()) for k, v in messy.summary().items()},
        "truth_rows": truth.rows if truth is not None else 0,
        "users_with_paid_order": int((st.n_paid > 0).sum()),
        "elapsed_s": round(time.perf_counter() - started, 2),
    }
    write_json(truth_dir / "summary.json", summary)
    return summary
