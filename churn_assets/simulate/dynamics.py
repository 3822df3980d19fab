"""The latent churn process: per-user state, its daily update, and the exact churn probability.

Each day t, for every customer who has joined and is still "alive":
  1. dissatisfaction D and engagement e decay deterministically (D *= DELTA_D; e -> e_floor at rate kappa)
  2. the customer leaves for good with probability h = hazard(state)
  3. if still alive, the number of orders is Poisson(lambda = intensity(state, calendar day))
  4. each order is paid with the user's probability q; shocks from the day's orders (late deliveries,
     hidden service failures, refunds, complaints, the decision to give up) are added to the state.
`p_no_paid_order` applies steps 1-3 analytically to the state at the end of day d and returns
P(no paid order in days d+1 .. d+H). The only thing it ignores is shocks from orders that are not
paid during the horizon (a paid order settles the question anyway); those are small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from churn_assets.simulate.config import ShopConfig
from churn_assets.simulate.population import Population

DELTA_D = 0.965  # daily retention of dissatisfaction (half-life ~20 days)
BETA_D = 1.0  # hazard multiplier exp(BETA_D * D)
GAMMA_D = 0.5  # order intensity multiplier exp(-GAMMA_D * D)
C_E = 1.0  # hazard multiplier 1 + C_E * (1 - e): disengaged customers leave more easily
GIVEUP_HAZARD = 0.07  # extra daily hazard of a customer who gave up after a complaint
GIVEUP_RATE_MULT = 0.05  # ... who also (almost) stops ordering
HAZARD_CAP = 0.5
ENGAGE_BOOST = 0.3  # engagement gained by a paid order
NEVER = np.int32(2**30)


@dataclass
class Calendar:
    """Seasonality and promotion days, known in advance (index = day number, beyond the run too)."""

    season: np.ndarray  # order/visit multiplier per day
    promo: np.ndarray  # 1.0 on sale days


def make_calendar(cfg: ShopConfig, rng: np.random.Generator) -> Calendar:
    n = cfg.n_days + cfg.horizon_days + 2
    days = np.arange(n)
    weekday = (cfg.start_date.weekday() + days) % 7
    weekly = np.array([0.96, 0.94, 0.97, 1.0, 1.04, 1.1, 0.99])[weekday]
    doy = np.array([(cfg.start_date + timedelta(days=int(d))).timetuple().tm_yday for d in days])
    wave = 1.0 + 0.12 * np.cos(2 * np.pi * (doy - 340) / 365.25)  # busier around December
    promo = np.zeros(n)
    t = int(rng.integers(5, 20))
    while t < n:
        promo[t : t + int(rng.integers(2, 5))] = 1.0
        t += int(rng.integers(21, 42))
    return Calendar(season=weekly * wave, promo=promo)


@dataclass
class State:
    joined: np.ndarray  # bool
    alive: np.ndarray  # bool
    e: np.ndarray  # engagement in [e_floor, 1]
    D: np.ndarray  # dissatisfaction >= 0
    giveup: np.ndarray  # bool: gave up after a complaint (shops elsewhere, leaves soon)
    complaint_day: np.ndarray  # int32 day the give-up complaint is posted (NEVER if none)
    death_day: np.ndarray  # int32 day the customer left (NEVER if alive)
    n_paid: np.ndarray  # int32 paid orders so far (within the simulated period)
    late_orders: np.ndarray  # int32 counters for the debugging table
    failures: np.ndarray
    complaints: np.ndarray


def initial_state(pop: Population, rng: np.random.Generator) -> State:
    n = pop.n
    base = pop.signup_day < 0
    alive = np.where(base, rng.random(n) < 0.8, True)
    death_day = np.where(alive, NEVER, -rng.integers(30, 400, size=n)).astype(np.int32)
    e = np.where(base, pop.e_floor + (1 - pop.e_floor) * rng.random(n), 1.0)
    D = np.where(base & (rng.random(n) < 0.15), rng.exponential(0.6, size=n), 0.0)
    zeros = np.zeros(n, dtype=np.int32)
    return State(
        joined=base.copy(),
        alive=alive,
        e=e,
        D=D,
        giveup=np.zeros(n, dtype=bool),
        complaint_day=np.full(n, NEVER, dtype=np.int32),
        death_day=death_day,
        n_paid=zeros.copy(),
        late_orders=zeros.copy(),
        failures=zeros.copy(),
        complaints=zeros.copy(),
    )


def gave_up(st: State, idx: np.ndarray, t: int) -> np.ndarray:
    """Give-up decisions in force on day t: the decision is taken when the complaint is posted (before t)."""
    return st.giveup[idx] & (st.complaint_day[idx] < t)


def hazard(h0, D, e, giveup) -> np.ndarray:
    h = h0 * np.exp(BETA_D * D) * (1.0 + C_E * (1.0 - e)) + GIVEUP_HAZARD * giveup
    return np.minimum(h, HAZARD_CAP)


def intensity(lam0, D, e, giveup, rho, season: float | np.ndarray, promo: float | np.ndarray) -> np.ndarray:
    mult = np.where(giveup, GIVEUP_RATE_MULT, 1.0)
    return lam0 * e * np.exp(-GAMMA_D * D) * season * (1.0 + rho * promo) * mult


def decay(st: State, pop: Population, idx: np.ndarray) -> None:
    st.D[idx] *= DELTA_D
    f = pop.e_floor[idx]
    st.e[idx] = f + (st.e[idx] - f) * np.exp(-pop.kappa[idx])


def step_dropout(st: State, pop: Population, idx: np.ndarray, t: int, rng: np.random.Generator) -> None:
    """Step 2 for the alive customers `idx` (after `decay`)."""
    h = hazard(pop.h0[idx], st.D[idx], st.e[idx], gave_up(st, idx, t))
    leaving = idx[rng.random(len(idx)) < h]
    st.alive[leaving] = False
    st.death_day[leaving] = t


def order_intensity(st: State, pop: Population, idx: np.ndarray, t: int, cal: Calendar) -> np.ndarray:
    return intensity(
        pop.lam0[idx], st.D[idx], st.e[idx], gave_up(st, idx, t), pop.rho[idx], cal.season[t], cal.promo[t]
    )


def p_no_paid_order(st: State, pop: Population, idx: np.ndarray, t: int, horizon: int, cal: Calendar) -> np.ndarray:
    """P(no paid order in days t+1 .. t+horizon | state at the end of day t), for user numbers idx."""
    # decisions taken by the end of day t; a complaint still to come is a future shock, like the others
    D, e, giveup = st.D[idx], st.e[idx], gave_up(st, idx, t + 1)
    f, kappa, h0 = pop.e_floor[idx], pop.kappa[idx], pop.h0[idx]
    lam0, rho, q = pop.lam0[idx], pop.rho[idx], pop.q[idx]
    survive = np.ones(len(idx))  # P(alive through day k-1)
    paid_mass = np.zeros(len(idx))  # expected paid orders in days 1..k-1 (given alive)
    p = np.zeros(len(idx))
    for k in range(1, horizon + 1):
        Dk = D * DELTA_D**k
        ek = f + (e - f) * np.exp(-kappa * k)
        hk = hazard(h0, Dk, ek, giveup)
        p += survive * hk * np.exp(-paid_mass)  # leaves on day k with no paid order before
        survive *= 1.0 - hk
        paid_mass += q * intensity(lam0, Dk, ek, giveup, rho, cal.season[t + k], cal.promo[t + k])
    p += survive * np.exp(-paid_mass)
    return np.where(st.alive[idx], p, 1.0)
