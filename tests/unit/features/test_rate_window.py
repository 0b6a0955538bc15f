"""The 3-year window, kept as a rate (hearth/features/windows.py: `rate_scale`,
`usable_windows`; applied where the features are built, hearth/features/build.py).

A count in the last 3 years is kept as records per 2 years over the months it holds records
of: 24/36 of the count with 3 years of history or more, 24/h with h months (from 2 years, the
same number as a 2-year count). A model trained with 2 years of history (the refit at T-12 on
a 3-year world) reads the 3-year rate in place of the 2-year count: the same numbers in the
same places at its training date, and a year later every record of the 3 years at the rate it
learned, not half as many again."""

from __future__ import annotations

import numpy as np
import pytest

from hearth.features.build import build_features
from hearth.features.catalogue import load_catalogue
from hearth.features.windows import rate_scale
from hearth.features.wording import say
from tests.unit.features.test_features import AS_OF, H1, tiny  # noqa: F401


@pytest.mark.parametrize(
    ("window", "history", "scale"),
    [
        (36, 36, 24 / 36),  # 3 years of records: per 2 years
        (36, 60, 24 / 36),  # more history than the window: the window's 3 years
        (36, 30, 24 / 30),  # 30 months there are: per 2 years of those
        (36, 24, 1.0),  # the refit's training date: the same number as the 2-year count
        (36, 12, 2.0),  # a year of history: a rate, twice the year's count
        (24, 12, 1.0),  # a window of up to 2 years is a count, whatever the history
        (24, 60, 1.0),
        (12, 6, 1.0),
        (3, 60, 1.0),
    ],
)
def test_a_window_longer_than_2_years_is_kept_per_2_years(window, history, scale):
    assert rate_scale(window, history) == pytest.approx(scale, rel=1e-12)


def _windows(history: int, key: str = "copd_register") -> set[int]:
    cat = load_catalogue()
    return {
        cat.by_name(n).window
        for n in cat.usable_names(history)
        if cat.by_name(n).kind == "count" and cat.by_name(n).key == key
    }


@pytest.mark.parametrize(
    ("history", "windows"),
    [
        (6, {3, 6}),
        (12, {3, 6, 12}),  # the judged model
        (23, {3, 6, 12}),
        (24, {3, 6, 12, 36}),  # the refit: the 3-year rate in place of the 2-year count
        (30, {3, 6, 12, 24, 36}),
        (36, {3, 6, 12, 24, 36}),
        (60, {3, 6, 12, 24, 36}),
    ],
)
def test_from_2_years_of_history_a_model_reads_the_3_year_rate(history, windows):
    assert _windows(history) == windows
    assert _windows(history, "breathing_records") == windows  # a theme's windows too


def test_the_refit_reads_the_same_numbers_in_the_same_places_at_its_training_date(tiny):  # noqa: F811
    """With 24 months of history (the tiny world's at AS_OF) the refit's features in their order
    are the 2-year windows' features of before, bit for bit: the same trees."""
    con, _ = tiny
    cat = load_catalogue()
    frame = build_features(con, AS_OF)
    now = cat.usable_names(24)
    before = [n for n in cat.names if n in now or n.replace("_24m", "_36m") in now]
    before = [n for n in before if not n.endswith("_36m")]
    assert [n.replace("_24m", "_36m") for n in before] == now
    a, b = frame.select(before).to_numpy(), frame.select(now).to_numpy()
    assert a.tobytes() == b.tobytes()
    assert np.count_nonzero(frame.select("ae_respiratory_36m").to_numpy()) > 0  # not all zero


def test_a_rate_says_so_in_words():
    cat = load_catalogue()
    copd = cat.by_name("copd_register_36m")
    assert copd.describe(24 / 36) == "0.7 COPD register records per 2 years over the last 3 years"
    assert copd.describe(1.0) == "1 COPD register record per 2 years over the last 3 years"
    assert copd.describe(2.0) == "2 COPD register records per 2 years over the last 3 years"
    # the windows of up to 2 years are counts, said as whole numbers
    assert cat.by_name("copd_register_24m").describe(1.4) == (
        "1 COPD register record in the last 2 years"
    )
    # a theme: each kind's rate, and the theme's own rate rounded once (4/3 reads 1.3, as the
    # theme's feature and a coarser role's view of the same records read it; not 0.7 + 0.7)
    values = {
        "breathing_records_36m": 4 / 3,
        "copd_register_36m": 2 / 3,
        "ae_respiratory_36m": 2 / 3,
        "admission_respiratory_36m": 0.0,
    }
    assert say(cat, "breathing_records_36m", values) == (
        "1.3 records of breathing problems per 2 years over the last 3 years: 0.7 COPD "
        "register records and 0.7 A&E attendances for breathing problems"
    )
