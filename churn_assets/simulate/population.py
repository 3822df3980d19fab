"""The customers: static latent parameters, visible attributes, sign-up days, and the initial state.

Everything is one numpy array per attribute, indexed by user number (0 .. n_users-1). User number i
has the id `user_ids(n)[i]`; the pre-existing base comes first, then the daily sign-up cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from churn_assets.simulate.config import (
    CATEGORY_POPULARITY,
    CHANNEL_HAZARD_MULT,
    CHANNEL_SHARE,
    CHANNELS,
    DAY_S,
    DEVICE_SHARE,
    MEMBERSHIP_HAZARD_MULT,
    MEMBERSHIP_RATE_MULT,
    MEMBERSHIP_SHARE,
    MEMBERSHIPS,
    REGION_SHARE,
    REGIONS,
    ShopConfig,
)

BROWSE_NOISE = 0.15  # spread (lognormal sigma) between customers of browsing sessions per order


def id_width(n_users: int) -> int:
    return max(7, len(str(n_users - 1)))


def tagged(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Ids like 'u0000123': prefix + zero-padded number."""
    numbers = np.asarray(numbers)
    if numbers.size == 0:
        return np.array([], dtype=f"<U{len(prefix) + width}")
    return np.strings.add(prefix, np.strings.zfill(numbers.astype(str), width))


def user_ids(n_users: int) -> np.ndarray:
    return tagged("u", np.arange(n_users), id_width(n_users))


@dataclass
class Population:
    """Static per-user parameters (latent ones are never written to the landing files)."""

    signup_day: np.ndarray  # int32 day index of sign-up (negative: before start_date)
    signup_sec: np.ndarray  # int32 seconds into the sign-up day
    region: np.ndarray  # int8 index into REGIONS
    channel: np.ndarray  # int8 index into CHANNELS
    membership: np.ndarray  # int8 index into MEMBERSHIPS
    device: np.ndarray  # int8 preferred device
    fav_cat: np.ndarray  # int8 favourite category
    lam0: np.ndarray  # daily order intensity when fully engaged
    h0: np.ndarray  # base daily dropout hazard
    q: np.ndarray  # probability that an order ends up paid
    rho: np.ndarray  # discount responsiveness (order intensity multiplier on promo days is 1 + rho)
    kappa: np.ndarray  # daily decay rate of engagement
    e_floor: np.ndarray  # engagement level it decays towards
    browse0: np.ndarray  # browsing sessions per day when fully engaged
    spend: np.ndarray  # log-amount offset
    fail_rate: np.ndarray  # probability of a hidden service failure per order
    review_prop: np.ndarray  # multiplier of the review probability
    rating_bias: np.ndarray  # the user's mood when rating
    tolerance: np.ndarray  # multiplier of the dissatisfaction shocks (frequent buyers forgive more)

    @property
    def n(self) -> int:
        return len(self.lam0)

    def frame(self, ids: np.ndarray) -> pd.DataFrame:
        out = {"user_id": ids}
        for f in fields(self):
            out[f.name] = getattr(self, f.name)
        df = pd.DataFrame(out)
        df["region"] = np.asarray(REGIONS)[self.region]
        df["channel"] = np.asarray(CHANNELS)[self.channel]
        df["membership"] = np.asarray(MEMBERSHIPS)[self.membership]
        return df


def _signup_days(cfg: ShopConfig, n_new: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted sign-up days of the new customers: growing, busier at weekends."""
    days = np.arange(cfg.n_days)
    weekday = (cfg.start_date.weekday() + days) % 7
    weights = (1.0 + 0.25 * (weekday >= 5)) * (1.0 + 0.4 * days / max(cfg.n_days, 1))
    counts = rng.multinomial(n_new, weights / weights.sum())
    return np.repeat(days, counts).astype(np.int32)


def draw_population(cfg: ShopConfig, rng: np.random.Generator) -> Population:
    n = cfg.n_users
    n_base = int(round(cfg.existing_share * n))
    base_days = -np.sort(rng.integers(1, 3 * 365, size=n_base))[::-1]
    signup_day = np.concatenate([base_days, _signup_days(cfg, n - n_base, rng)]).astype(np.int32)
    # user numbers follow sign-up: the pre-existing base first, then the daily cohorts
    signup_sec = rng.integers(6 * 3600, DAY_S - 60, size=n).astype(np.int32)

    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARE).astype(np.int8)
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARE).astype(np.int8)
    membership = rng.choice(len(MEMBERSHIPS), size=n, p=MEMBERSHIP_SHARE).astype(np.int8)
    device = rng.choice(len(DEVICE_SHARE), size=n, p=DEVICE_SHARE).astype(np.int8)
    fav_cat = rng.choice(len(CATEGORY_POPULARITY), size=n, p=CATEGORY_POPULARITY).astype(np.int8)

    # order intensity: gamma-distributed (long tail of heavy buyers)
    shape = cfg.order_rate_shape
    lam0 = cfg.order_rate * rng.gamma(shape, 1.0 / shape, size=n) * MEMBERSHIP_RATE_MULT[membership]
    # dropout hazard: lognormal, channel/membership dependent, heavy buyers slightly more loyal
    loyalty = np.clip((lam0 / cfg.order_rate) ** -0.25, 0.6, 1.6)
    h0 = cfg.hazard_scale * np.exp(0.6 * rng.standard_normal(n)) * loyalty
    h0 *= CHANNEL_HAZARD_MULT[channel] * MEMBERSHIP_HAZARD_MULT[membership]
    q = 1.0 - rng.beta(1.2, 11.0, size=n)
    rho = np.where(rng.random(n) < 0.35, rng.uniform(0.8, 3.0, size=n), 0.0)
    kappa = np.exp(np.log(1 / 70) + 0.6 * rng.standard_normal(n))
    e_floor = rng.uniform(0.35, 0.8, size=n)
    browse0 = cfg.browse_per_order * lam0 * np.exp(BROWSE_NOISE * rng.standard_normal(n))
    spend = 0.3 * rng.standard_normal(n)
    fail_rate = np.clip(cfg.service_failure_rate * np.exp(0.6 * rng.standard_normal(n) - 0.18), 0, 0.5)
    review_prop = np.exp(0.8 * rng.standard_normal(n) - 0.32)
    rating_bias = 0.5 * rng.standard_normal(n)
    return Population(
        signup_day=signup_day,
        signup_sec=signup_sec,
        region=region,
        channel=channel,
        membership=membership,
        device=device,
        fav_cat=fav_cat,
        lam0=lam0,
        h0=h0,
        q=q,
        rho=rho,
        kappa=kappa,
        e_floor=e_floor,
        browse0=browse0,
        spend=spend,
        fail_rate=fail_rate,
        review_prop=review_prop,
        rating_bias=rating_bias,
        tolerance=(1.0 + lam0 / cfg.order_rate) ** -0.4,
    )


def users_frame(pop: Population, ids: np.ndarray, idx: np.ndarray, start_epoch: int) -> pd.DataFrame:
    """Rows of the users landing file for the given user numbers."""
    secs = start_epoch + pop.signup_day[idx].astype(np.int64) * DAY_S + pop.signup_sec[idx]
    return pd.DataFrame(
        {
            "user_id": ids[idx],
            "signup_ts": iso_ts(secs),
            "region": np.asarray(REGIONS)[pop.region[idx]],
            "channel": np.asarray(CHANNELS)[pop.channel[idx]],
            "membership": np.asarray(MEMBERSHIPS)[pop.membership[idx]],
        }
    )


def iso_ts(epoch_seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds -> '2026-01-05T14:03:22Z' strings."""
    text = np.datetime_as_string(np.asarray(epoch_seconds, dtype="int64").astype("datetime64[s]"), unit="s")
    return np.strings.add(text, "Z")
