"""benchmarks/feedback_labels.py: the labels a window would have had without the visits, and the
random label changes it measures the ratio's sensitivity with."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from benchmarks.feedback_labels import perturb, true_labels


def test_true_labels_add_back_the_crises_prevented_inside_the_window_only():
    pids = np.array(["a", "b", "c", "d", "e"], dtype=object)
    y = np.array([0, 1, 0, 0, 0])
    prevented = pl.DataFrame(
        {
            "household_pid": ["a", "b", "c", "d", "e"],
            "event_date": [
                date(2024, 2, 1),  # the window's first day: in
                date(2024, 6, 9),  # in, but b had a crisis recorded anyway
                date(2025, 1, 31),  # the window's last day: in
                date(2025, 2, 1),  # the month of the as-of: after the window
                date(2024, 1, 31),  # before the window
            ],
        }
    )
    got = true_labels(pids, y, prevented, "2024-02", "2025-02")
    assert got.tolist() == [1, 1, 1, 0, 0]
    assert y.tolist() == [0, 1, 0, 0, 0]  # the recorded labels are left as they were


def test_perturb_removes_crises_only_in_the_pool_and_a_swap_adds_as_many():
    rng = np.random.default_rng(0)
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    pool = np.array([True] * 8 + [False] * 2)
    flipped = perturb(y, pool, 2, rng)
    assert flipped.sum() == y.sum() - 2
    assert (flipped[~pool] == y[~pool]).all()
    assert ((y - flipped) >= 0).all()  # only removed
    swapped = perturb(y, pool, 2, rng, swap=True)
    assert swapped.sum() == y.sum()
    assert (swapped[~pool] == y[~pool]).all()
    assert int((swapped != y).sum()) == 4
