"""The trees learn each 3-year rate in whole records, so that a rate's value at the scoring date
falls between their splits where its nearest whole number does.

The 3-year window is kept as records per 2 years (hearth/features/windows.py: `rate_scale`).
The refit at T-12 on a 3-year world has 2 years of history, so the rate it learns from is the
2-year count: whole numbers of records, or with the agencies' own identifiers the expected
count of records linked by tokens (0.98, 0.99: a record's link probability). A year later, at
T, the same column holds 2/3 of a 3-year count: 0.67 for one record, 1.33 for two, values no
training household had. Where a tree splits in such a gap the learning never placed: the
histogram trees put a split half-way between neighbouring values they saw (0.5 between 0 and
1), but between 0 and a linked record's 0.98 and 1 their bins fell at 0.986, and one record in
3 years (0.67) then read as none. On the realistic world of seed 241 token-linked at 100,000
households every household with one past crisis in 3 years read as having none, and the top of
the list scored 0.87 of its true probability (docs/performance.md, "The trees read a rate in
whole records"). Fitted on the rate rounded to whole records, the trees split only half-way
between whole numbers, so any rate reads as its nearest whole number of records, as with shared
keys, where the counts are whole already and this changes nothing. The models score the stored
rate as it is; only the trees' training rows are rounded (`whole_rates`), and the regression,
which reads a rate's size smoothly, keeps the fractions."""

from __future__ import annotations

import numpy as np

from hearth.features.catalogue import load_catalogue
from hearth.features.windows import is_rate


def rate_columns(feature_names: list[str]) -> list[int]:
    """The positions of the catalogue's counts kept as a rate (the 3-year window, and the
    themes' 3-year window) among `feature_names`; a column the catalogue does not describe is
    none of them."""
    cat = load_catalogue()
    known = set(cat.names)
    return [
        i
        for i, name in enumerate(feature_names)
        if name in known and cat.by_name(name).kind == "count" and is_rate(cat.by_name(name).window)
    ]


def whole_rates(X: np.ndarray, feature_names: list[str]) -> np.ndarray:
    """The trees' training rows with each rate column rounded to the nearest whole number of
    records (a half up), in place: pass a copy (the boolean-masked rows a fit is given are one).
    Returns `X`."""
    cols = rate_columns(feature_names)
    if cols:
        X[:, cols] = np.floor(X[:, cols] + 0.5)
    return X
