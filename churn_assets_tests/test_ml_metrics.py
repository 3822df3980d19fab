"""Metrics, threshold rules and plots (pure Python, no Dagster)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from churn_assets.ml.metrics import binary_metrics, calibration_table, capture_at, gains_curve, lift_at
from churn_assets.ml.plots import plot_all, plot_calibration, plot_gains, plot_precision_recall, plot_roc
from churn_assets.ml.thresholds import (
    best_f1_threshold,
    choose_threshold,
    cost_threshold,
    expected_profit,
    top_share_threshold,
)

# fixed example: 20 rows, 8 churners
Y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1])
P = np.array(
    [
        0.95,
        0.90,
        0.80,
        0.75,
        0.70,
        0.62,
        0.60,
        0.55,
        0.50,
        0.45,
        0.40,
        0.35,
        0.30,
        0.28,
        0.20,
        0.15,
        0.12,
        0.10,
        0.05,
        0.02,
    ]
)


def test_binary_metrics_match_scikit_learn():
    m = binary_metrics(Y, P, threshold=0.5)
    pred = (P >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(Y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(Y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(Y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(Y, pred))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(Y, P))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(Y, P))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(Y, P))
    assert m["base_rate"] == pytest.approx(0.4) and m["n"] == 20
    # top 10% = 2 rows (0.95 churner, 0.90 not): rate 0.5, lift 0.5 / 0.4, capture 1 of 8
    assert m["lift_top10"] == pytest.approx(1.25)
    assert m["capture_top10"] == pytest.approx(1 / 8)
    # hand-checked at 0.5: flagged 9 rows (.95 .. .50), 4 of them churners
    assert m["precision"] == pytest.approx(4 / 9) and m["recall"] == pytest.approx(4 / 8)


def test_lift_and_capture_edge_cases():
    assert capture_at(Y, P, 1.0) == pytest.approx(1.0)
    assert lift_at(Y, P, 1.0) == pytest.approx(1.0)
    assert capture_at(Y, P, 0.25) == pytest.approx(3 / 8)  # ceil(5) rows: .95 .90 .80 .75 .70 -> 3 churners
    m = binary_metrics(np.zeros(5), np.linspace(0, 1, 5))
    assert np.isnan(m["roc_auc"]) and np.isnan(m["lift_top10"]) and m["precision"] == 0.0
    with pytest.raises(ValueError):
        binary_metrics([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError):
        binary_metrics([0, 1], [0.1, 0.2, 0.3])


def test_best_f1_threshold_is_the_brute_force_optimum():
    t = best_f1_threshold(Y, P)
    brute = max(skm.f1_score(Y, (P >= c).astype(int)) for c in np.unique(P))
    assert skm.f1_score(Y, (P >= t).astype(int)) == pytest.approx(brute)
    assert t in P


def test_cost_threshold_maximises_expected_profit():
    kw = dict(contact_cost=2.0, value_saved=30.0, success_rate=0.25)
    t = cost_threshold(Y, P, **kw)
    profits = {c: expected_profit(Y, P, c, **kw) for c in np.unique(P)}
    assert expected_profit(Y, P, t, **kw) == pytest.approx(max(profits.values()))
    assert max(profits.values()) > 0
    # a campaign that never pays contacts nobody
    t_none = cost_threshold(Y, P, contact_cost=100.0, value_saved=30.0, success_rate=0.25)
    assert t_none > P.max() and not (P >= t_none).any()
    # cheaper contacts -> contact at least as many customers
    assert cost_threshold(Y, P, contact_cost=0.5, value_saved=30.0, success_rate=0.25) <= t


def test_choose_threshold_dispatches():
    assert choose_threshold("fixed", Y, P, threshold=0.3) == 0.3
    assert choose_threshold("best_f1", Y, P) == best_f1_threshold(Y, P)
    assert choose_threshold("cost", Y, P, contact_cost=1, value_saved=10, success_rate=0.5) == cost_threshold(
        Y, P, contact_cost=1, value_saved=10, success_rate=0.5
    )
    assert (P >= choose_threshold("top_share", Y, P, share=0.2)).sum() == 4
    assert top_share_threshold(Y, P, share=0.1) == 0.90
    with pytest.raises(ValueError):
        choose_threshold("magic", Y, P)


def test_gains_and_calibration_tables():
    x, g = gains_curve(Y, P)
    assert x[0] == 0 and g[0] == 0 and x[-1] == 1 and g[-1] == 1 and np.all(np.diff(g) >= 0)
    assert g[2] == pytest.approx(1 / 8)
    t = calibration_table(Y, P, n_bins=2)
    assert t["count"].sum() == 20
    np.testing.assert_allclose(t["observed_rate"], [Y[P < 0.5].mean(), Y[P >= 0.5].mean()])


def test_plots_write_png_files(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    curves = {"good": (y, np.clip(y * 0.5 + rng.random(300) * 0.5, 0, 1)), "random": (y, rng.random(300))}
    paths = [
        plot_roc(curves, tmp_path / "roc.png"),
        plot_precision_recall(curves, tmp_path / "pr.png"),
        plot_calibration(curves, tmp_path / "cal.png"),
        plot_gains(curves, tmp_path / "sub" / "gains.png"),
    ]
    for p in paths:
        assert p.exists() and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    assert set(plot_all(curves, tmp_path / "all", prefix="test_")) == {"roc", "pr", "calibration", "gains"}
    assert (tmp_path / "all" / "test_roc.png").exists()
