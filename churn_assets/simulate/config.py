"""Configuration of the simulated shop, and the fixed vocabularies it draws from.

`ShopConfig` holds the knobs a user may want to turn (size, seed, messiness, churn definition,
behaviour rates). The defaults are calibrated (see churn_assets/simulate/README.md for the
measured figures); the constants in `dynamics.py` shape the latent churn process itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import numpy as np


@dataclass(frozen=True)
class ShopConfig:
    n_users: int = 20_000  # all customers: pre-existing base + those signing up during the period
    n_days: int = 180
    seed: int = 7
    start_date: date = date(2026, 1, 1)
    messy_share: float = 0.01  # extra bad rows per landing file, as a share of its rows
    horizon_days: int = 30  # churn horizon H of the truth
    lookback_days: int = 90  # activity lookback L (used by the evaluation helpers)
    truth_every_days: int = 1  # write truth every k-th day (thin it for very large shops)
    existing_share: float = 0.3  # share of n_users who signed up before start_date
    order_rate: float = 0.085  # mean daily order intensity of a fully engaged customer
    order_rate_shape: float = 1.1  # gamma shape of the per-user order intensity (smaller = longer tail)
    hazard_scale: float = 0.0003  # median daily probability that a content customer leaves for good
    browse_per_order: float = 9.0  # browsing sessions without a purchase per order of the same customer
    review_rate: float = 0.05  # probability that an order gets a review (before per-user propensity)
    service_failure_rate: float = 0.05  # hidden failures (damaged parcel, unhelpful support) per order
    write_truth: bool = True

    def __post_init__(self) -> None:
        if self.n_users < 1 or self.n_days < 1:
            raise ValueError("n_users and n_days must be positive")
        if not 0.0 <= self.messy_share < 0.5:
            raise ValueError("messy_share must be in [0, 0.5)")
        if self.horizon_days < 1 or self.truth_every_days < 1 or self.lookback_days < 1:
            raise ValueError("horizon_days, lookback_days and truth_every_days must be positive")
        if not 0.0 <= self.existing_share <= 1.0:
            raise ValueError("existing_share must be in [0, 1]")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["start_date"] = self.start_date.isoformat()
        return out


DAY_S = 86_400

CATEGORIES = ("electronics", "fashion", "home", "beauty", "sports", "books", "toys", "grocery")
CATEGORY_POPULARITY = np.array([0.14, 0.22, 0.14, 0.12, 0.10, 0.10, 0.07, 0.11])
# log of the median order amount (currency units) per category, and its spread
CATEGORY_LOG_PRICE = np.log(np.array([140.0, 48.0, 62.0, 28.0, 55.0, 19.0, 33.0, 38.0]))
CATEGORY_PRICE_SIGMA = np.array([0.75, 0.55, 0.65, 0.45, 0.6, 0.4, 0.5, 0.45])
CATEGORY_EXTRA_QTY = np.array([0.1, 0.4, 0.3, 0.6, 0.3, 0.5, 0.3, 1.8])  # Poisson mean of extra units
CATEGORY_SHIP_DAYS = np.array([2.0, 2.5, 3.5, 2.0, 3.0, 2.0, 2.5, 1.0])
ITEMS_PER_CATEGORY = 2_000

REGIONS = ("north", "south", "east", "west", "capital")
REGION_SHARE = np.array([0.2, 0.22, 0.16, 0.17, 0.25])
REGION_LATE_MULT = np.array([1.0, 0.9, 1.9, 1.1, 0.7])  # late deliveries are a regional problem

CHANNELS = ("organic", "paid_search", "social", "referral", "email")
CHANNEL_SHARE = np.array([0.35, 0.25, 0.18, 0.12, 0.10])
CHANNEL_HAZARD_MULT = np.array([1.0, 1.15, 1.45, 0.75, 0.9])

MEMBERSHIPS = ("none", "plus", "premium")
MEMBERSHIP_SHARE = np.array([0.74, 0.20, 0.06])
MEMBERSHIP_RATE_MULT = np.array([1.0, 1.35, 1.7])
MEMBERSHIP_HAZARD_MULT = np.array([1.0, 0.75, 0.55])

DEVICES = ("mobile", "desktop", "tablet", "app")
DEVICE_SHARE = np.array([0.42, 0.3, 0.08, 0.2])

# non-paid order outcomes, given that an order is not paid
NON_PAID = ("cancelled", "refunded", "returned")
NON_PAID_SHARE = np.array([0.4, 0.25, 0.35])
