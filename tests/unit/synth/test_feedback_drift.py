"""benchmarks/feedback_drift.py's readings of the truth (issue 26: why the effect-0 reference
falls): the oracle's and the full-information top 1% per month, and labels drawn again from the
truth's risk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from benchmarks.feedback_drift import (
    Year,
    _weighted_fit,
    drawn_labels,
    grid,
    stacked,
    truth_by_month,
)


def test_the_truth_is_read_month_by_month_with_no_model():
    n = 250  # k = 3 households in the top 1%
    risk = np.linspace(0.0, 0.5, n)
    full = risk[::-1].copy()
    months = []
    for as_of, shift in (("2024-02", 0.1), ("2024-01", 0.0)):  # out of order on purpose
        months.append(
            pl.DataFrame(
                {
                    "household_pid": [f"H{i}" for i in range(n)],
                    "as_of": as_of,
                    "p_crisis_12m": risk * (1 + shift),
                    "p_crisis_12m_full": full,
                    "crisis_12m": np.arange(n) % 5 == 0,
                }
            )
        )
    got = truth_by_month(pl.concat(months))
    assert [r["as_of"] for r in got] == ["2024-01", "2024-02"]
    top = risk[-3:].mean()  # the oracle's top 3 by its own risk
    assert got[0]["oracle_expected_precision"] == pytest.approx(top)
    assert got[1]["oracle_expected_precision"] == pytest.approx(top * 1.1)
    assert got[0]["full_information_precision"] == pytest.approx(full[:3].mean())
    assert got[0]["mean_risk"] == pytest.approx(risk.mean())
    assert got[0]["crisis_rate"] == pytest.approx(0.2)
    assert got[0]["households"] == n


def test_drawn_labels_are_another_realisation_of_the_same_risk():
    risk = np.r_[np.zeros(1000), np.ones(1000), np.full(20000, 0.25)]
    y = drawn_labels(risk, np.random.default_rng(1))
    assert y.dtype.kind == "i"
    assert y[:1000].sum() == 0 and y[1000:2000].sum() == 1000
    assert y[2000:].mean() == pytest.approx(0.25, abs=0.01)
    again = drawn_labels(risk, np.random.default_rng(2))
    assert (again != y).any()  # another draw, not the same


def _year(as_of: str, n: int, offset: float, labels: dict[str, np.ndarray]) -> Year:
    X = np.column_stack([np.arange(n) + offset, np.full(n, offset)]).astype(np.float32)
    return Year(as_of, X, np.array([f"H{i}" for i in range(n)]), list(labels.items()))


def test_two_years_stack_each_household_twice_with_its_own_years_outcomes():
    from hearth.modelling.training.sampling import calibration_mask, household_folds

    n = 400
    newer = _year("2024-06", n, 0.0, {"recorded": np.arange(n) % 2, "drawn_0": np.zeros(n, int)})
    older = _year("2023-06", n, 1000.0, {"recorded": np.arange(n) % 3 == 0, "drawn_0": np.ones(n)})
    X, y, pids, w = stacked(newer, older, 1, 0.5)
    assert X.shape == (2 * n, 2) and len(y) == len(pids) == len(w) == 2 * n
    assert (X[:n, 1] == 0).all() and (X[n:, 1] == 1000).all()  # the newer year's rows first
    assert y[:n].sum() == 0 and y[n:].sum() == n  # each year's own drawn outcomes
    assert (w[:n] == 1).all() and (w[n:] == 0.5).all()  # only the older year weighs less
    assert (pids[:n] == pids[n:]).all()  # the same pseudonym twice
    # so a household's two rows are held back (and folded) together
    cal = calibration_mask(pids, 0.2)
    assert 0 < cal.sum() < 2 * n and (cal[:n] == cal[n:]).all()
    folds = household_folds(pids, 5)
    assert (folds[:n] == folds[n:]).all()
    X1, y1, p1, w1 = stacked(newer, None, 0)
    assert X1 is newer.X and (y1 == np.arange(n) % 2).all() and (w1 == 1).all() and len(p1) == n


def test_two_years_stack_only_the_same_kind_of_outcomes():
    newer = _year("2024-06", 10, 0.0, {"recorded": np.zeros(10, int)})
    older = _year("2023-06", 10, 1.0, {"drawn_0": np.zeros(10, int)})
    with pytest.raises(ValueError, match="label sets differ"):
        stacked(newer, older, 0)


def test_the_weighted_fit_is_hearths_fit_when_every_weight_is_one():
    from hearth.features.catalogue import load_catalogue
    from hearth.modelling.training.fit import fit_candidate
    from hearth.modelling.training.params import TrainParams

    names = [n for n in load_catalogue().names if n.endswith("_12m")][:4]
    rng = np.random.default_rng(5)
    n = 3000
    X = rng.poisson(0.6, (n, len(names))).astype(np.float32)
    y = (rng.random(n) < 0.03 + 0.05 * X[:, 0]).astype(int)
    pids = np.array([f"P{i}" for i in range(n)])
    params = TrainParams(calibration="isotonic", max_iter=30).sized(int(y.sum()), n)
    mine = _weighted_fit(X, y, pids, names, params, np.ones(n)).predict_proba(X)[:, 1]
    hearth = fit_candidate("gradient_boosting", X, y, pids, names, params).predict_proba(X)[:, 1]
    assert np.allclose(mine, hearth, atol=1e-9)
    # a weight changes the fit
    w = np.where(np.arange(n) % 2 == 0, 1.0, 0.2)
    other = _weighted_fit(X, y, pids, names, params, w).predict_proba(X)[:, 1]
    assert not np.allclose(other, hearth, atol=1e-6)


def test_an_unknown_arm_is_named():
    with pytest.raises(ValueError, match="Unknown arm three"):
        grid(Path("/nonexistent"), ["2024-01"], ["2025-01"], 0, [], 10, 0, print, ("three",))
