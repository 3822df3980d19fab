"""Population stability index (churn_assets.ml.drift), tested directly."""

import math

import numpy as np
import pandas as pd
import pytest

from churn_assets.ml.drift import bin_edges, bin_shares, psi, psi_table


def test_identical_distributions_have_psi_near_zero():
    rng = np.random.default_rng(0)
    a = rng.gamma(2.0, 10.0, size=20_000)
    assert psi(a, a) == pytest.approx(0.0, abs=1e-12)
    # two samples of the same distribution: sampling noise only
    assert psi(a, rng.gamma(2.0, 10.0, size=20_000)) < 0.01


def test_shifted_distributions_exceed_the_usual_threshold_and_grow_with_the_shift():
    rng = np.random.default_rng(1)
    ref = rng.normal(0, 1, 10_000)
    small, large = psi(ref, rng.normal(0.1, 1, 10_000)), psi(ref, rng.normal(1.0, 1, 10_000))
    assert small < 0.1 < 0.2 < large
    assert psi(ref, rng.normal(0, 2.5, 10_000)) > 0.2  # a wider spread is drift too, same mean


def test_matches_a_hand_computation():
    # reference 1..4 with 2 bins: the median 2.5 cuts (-inf, 2.5] and (2.5, inf); shares 0.5, 0.5, missing 0
    ref = [1, 2, 3, 4]
    cur = [1, 1, 1, 4, None]  # shares 0.6, 0.2, missing 0.2
    eps = 1e-4
    by_hand = (0.6 - 0.5) * math.log(0.6 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5) + (0.2 - eps) * math.log(0.2 / eps)
    assert psi(ref, cur, bins=2, eps=eps) == pytest.approx(by_hand, rel=1e-12)
    assert list(bin_edges(np.array(ref, dtype=float), 2)) == [2.5]
    assert bin_shares(np.array([1, 1, 1, 4, np.nan]), np.array([2.5])) == pytest.approx([0.6, 0.2, 0.2])


def test_missing_values_have_their_own_bin():
    ref = [1.0, 2.0, 3.0, 4.0] * 250
    # the same values, but a third now arrive empty: drift
    assert psi(ref, [1.0, 2.0, 3.0, 4.0] * 150 + [np.nan] * 300) > 0.2
    # missing on both sides in the same share: no drift
    both = [1.0, 2.0, None, 4.0] * 250
    assert psi(both, both) == pytest.approx(0.0)
    # non-numbers count as missing, not as an error
    assert psi(["1", "2", "x"], [1, 2, None]) == pytest.approx(0.0)


def test_constant_and_mostly_zero_columns():
    assert psi([0.0] * 100, [0.0] * 50) == pytest.approx(0.0)
    # a constant reference still detects a move away from the constant
    assert psi([0.0] * 100, [0.0] * 50 + [3.0] * 50) > 0.2
    # a count that is mostly zero: the repeated quantiles merge into one bin instead of empty ones
    ref = np.r_[np.zeros(900), np.arange(1, 101)]
    assert psi(ref, ref) == pytest.approx(0.0)
    assert psi(ref, np.r_[np.zeros(500), np.arange(1, 501) % 100 + 1]) > 0.2


def test_values_outside_the_reference_range_fall_into_the_outer_bins():
    ref = np.arange(100, dtype=float)
    assert psi(ref, ref + 1000) > 5  # everything in the top bin
    assert psi(ref, ref - 1000) > 5


def test_empty_side_is_an_error():
    with pytest.raises(ValueError, match="reference 0"):
        psi([], [1, 2])


def test_psi_table_ranks_columns_and_skips_absent_ones():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"stable": rng.normal(size=3000), "moved": rng.normal(size=3000)})
    cur = pd.DataFrame({"stable": rng.normal(size=2000), "moved": rng.normal(2, 1, size=2000)})
    table = psi_table(ref, cur, ["stable", "moved", "not_there"])
    assert list(table["column"]) == ["moved", "stable"]
    assert table.loc[0, "psi"] > 0.2 > table.loc[1, "psi"]
    assert table.loc[0, "current_mean"] == pytest.approx(cur["moved"].mean())
    assert (table["reference_rows"] == 3000).all() and (table["current_rows"] == 2000).all()
