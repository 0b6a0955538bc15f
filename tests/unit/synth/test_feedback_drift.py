"""benchmarks/feedback_drift.py's readings of the truth (issue 26: why the effect-0 reference
falls): the oracle's and the full-information top 1% per month, and labels drawn again from the
truth's risk."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from benchmarks.feedback_drift import drawn_labels, truth_by_month


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
