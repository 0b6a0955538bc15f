"""The trees learn each 3-year rate in whole records (hearth/modelling/training/whole_rates.py),
so a rate at the scoring date (0.67 for one record in 3 years) reads as its nearest whole number
of records, even when the training date's counts hold a token link's share (0.98)."""

from __future__ import annotations

import numpy as np

from hearth.modelling.training.fit import fit_candidate, inner_estimator
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.whole_rates import rate_columns, whole_rates

RATE, COUNT_24, COUNT_12 = "crisis_records_36m", "crisis_records_24m", "crisis_records_12m"


def test_only_the_rates_are_rounded_to_the_nearest_whole_record_a_half_up():
    names = [COUNT_12, RATE, "copd_register_36m", COUNT_24, "my_own_column_36m"]
    assert rate_columns(names) == [1, 2]
    values = np.array([0.49, 0.5, 0.98, 4 / 3, 1.5, 8 / 3], dtype=np.float32)
    X = np.tile(values[:, None], (1, len(names)))
    got = whole_rates(X.copy(), names)
    assert got[:, 1].tolist() == [0, 1, 1, 1, 2, 3]
    assert got[:, 2].tolist() == [0, 1, 1, 1, 2, 3]
    # the counts of up to 2 years, and a column the catalogue does not describe, as they are
    for j in (0, 3, 4):
        assert np.array_equal(got[:, j], values)


def _token_linked_year(seed: int = 0, n: int = 12_000):
    """A training year as the refit at T-12 sees it with the agencies' own identifiers: past
    crises in 2 years, some of them linked by tokens with a probability just under 1."""
    rng = np.random.default_rng(seed)
    crises = rng.poisson(0.25, n).astype(np.float32)
    share = rng.choice(np.array([1.0, 0.98, 0.99], dtype=np.float32), n, p=[0.6, 0.2, 0.2])
    rate = crises * share  # the expected count of linked records
    recent = np.minimum(crises, rng.poisson(0.15, n)).astype(np.float32)
    X = np.column_stack([recent, rate])
    y = (rng.random(n) < 0.03 + 0.12 * np.minimum(crises, 3)).astype(int)
    return X, y, np.array([f"h{i:06d}" for i in range(n)])


def test_the_trees_read_a_rate_at_the_scoring_date_as_its_nearest_whole_number_of_records():
    X, y, pids = _token_linked_year()
    names = [COUNT_12, RATE]
    params = TrainParams(max_iter=30, min_samples_leaf=50)
    model = fit_candidate("gradient_boosting", X, y, pids, names, params)
    trees = inner_estimator(model)
    # every place the trees may split the rate is half-way between two whole numbers (without
    # the rounding the link shares put bin edges at 0.985 and 0.995, between 0.98 and 1)
    edges = trees._bin_mapper.bin_thresholds_[1]
    assert np.allclose(edges % 1, 0.5), edges
    # a year later: one record in 3 years reads as one record, two as one, four as three
    at_T = np.array([[0, 0], [0, 2 / 3], [0, 1], [0, 4 / 3], [0, 8 / 3], [0, 3]], np.float32)
    p = model.predict_proba(at_T)[:, 1]
    assert p[1] > p[0]
    assert np.allclose(p[1], p[2], atol=1e-5) and np.allclose(p[3], p[2], atol=1e-5)
    assert np.allclose(p[4], p[5], atol=1e-5)
