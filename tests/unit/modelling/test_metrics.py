"""Capacity metrics, calibration and the promotion rule against hand-worked values."""

import numpy as np
import pytest

from hearth.modelling.evaluation.metrics import (
    calibration_table,
    evaluate_scores,
    k_for,
    precision_recall_at_k,
    rank_order,
)
from hearth.modelling.registry.promotion import decide
from hearth.modelling.scoring.score import risk_tiers


def pids(n: int) -> np.ndarray:
    return np.array([f"{i:064x}" for i in range(n)])


def test_precision_and_recall_at_k_by_hand():
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    assert precision_recall_at_k(y, s, pids(10), 1) == (1.0, pytest.approx(1 / 3))
    assert precision_recall_at_k(y, s, pids(10), 3) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert precision_recall_at_k(y, s, pids(10), 6) == (0.5, 1.0)


def test_ties_are_broken_by_pseudonym_every_time():
    s = np.array([0.5, 0.5, 0.5, 0.9])
    h = np.array(["c" * 64, "a" * 64, "b" * 64, "d" * 64])
    assert rank_order(s, h).tolist() == [3, 1, 2, 0]
    y = np.array([0, 0, 1, 0])
    # k=2 takes d, then a (not b, the crisis): precision 0 whatever the input order
    for perm in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        assert precision_recall_at_k(y[perm], s[perm], h[perm], 2) == (0.0, 0.0)


def test_k_for_shares_and_fixed_numbers():
    assert k_for(0.01, 1000) == 10 and k_for(0.01, 50) == 1 and k_for(0.05, 101) == 6
    assert k_for(1000, 500) == 500 and k_for(1000, 5000) == 1000


def test_evaluate_scores_headline():
    rng = np.random.default_rng(1)
    y = (rng.random(2000) < 0.1).astype(int)
    s = np.clip(y * 0.3 + rng.random(2000) * 0.7, 0, 1)
    m = evaluate_scores(y, s, pids(2000), fixed_k=100)
    assert set(m) >= {
        "precision_at_1pct",
        "recall_at_5pct",
        "precision_at_top100",
        "auc",
        "average_precision",
        "brier",
    }
    assert m["precision_at_1pct"] == precision_recall_at_k(y, s, pids(2000), 20)[0]
    assert 0.5 < m["auc"] <= 1 and m["brier"] == pytest.approx(np.mean((s - y) ** 2))


def test_calibration_table_bins():
    t = calibration_table(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), bins=2)
    assert t["households"].to_list() == [2, 2]
    assert t["mean_predicted"].to_list() == pytest.approx([0.15, 0.85])
    assert t["observed_rate"].to_list() == [0.0, 1.0]


def test_promotion_rule_both_ways():
    assert decide(0.30, None, None, "")[0] == "champion"
    alias, reason = decide(0.30, 0.31, "4", "")
    assert alias == "challenger" and "below the champion's (version 4)" in reason
    alias, reason = decide(0.31, 0.31, "4", "")
    assert alias == "champion" and "at least the champion's" in reason
    assert (
        decide(0.1, None, "4", "the current champion uses features that are no longer built")[0]
        == "champion"
    )


def test_risk_tiers_follow_rank_shares():
    tiers = risk_tiers(np.arange(1, 201), 200)
    assert tiers[:2] == ["very high"] * 2 and tiers[2] == "high" and tiers[9] == "high"
    assert tiers[10] == "raised" and tiers[39] == "raised" and tiers[40] == "usual"


def test_samples_by_pseudonym_are_fixed_and_independent():
    from hearth.modelling.training.sampling import calibration_mask, household_sample

    h = pids(20000)
    cal = calibration_mask(h, 0.2)
    assert cal.tolist() == calibration_mask(h, 0.2).tolist()
    assert abs(cal.mean() - 0.2) < 0.02
    sample = household_sample(h, 0.2, "value of sharing")
    # a sample to train on must not be (nearly) all calibration households
    assert abs((cal & sample).sum() / sample.sum() - 0.2) < 0.03
