"""Which count windows a model trained with a given history uses (`Catalogue.usable_names`):
windows no longer than the history; with two years of history or more (but less than three)
the 3-year window, all the history there is, in place of the window as long as the history,
so that at a later date it reads the older records as well."""

from __future__ import annotations

import pytest

from hearth.features.catalogue import load_catalogue


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
        (12, {3, 6, 12}),  # the judged model: the 3-year window would count twice by next year
        (23, {3, 6, 12}),
        (24, {3, 6, 12, 36}),  # the refit: 3 years in place of 2, the same records at T-12
        (30, {3, 6, 12, 24, 36}),
        (36, {3, 6, 12, 24, 36}),
        (60, {3, 6, 12, 24, 36}),
    ],
)
def test_the_longest_window_stands_in_for_one_as_long_as_the_history(history, windows):
    assert _windows(history) == windows
    # a theme's windows follow the same rule
    assert _windows(history, "breathing_records") == windows


def test_with_two_years_no_two_columns_count_the_same_records():
    """At the training date a 2-year window and the 3-year window would be equal columns: the
    trees would split on the first and never read the older records at T."""
    cat = load_catalogue()
    names = set(cat.usable_names(24))
    for f in cat.features:
        if f.kind == "count" and f.window == 36:
            assert f.name in names
            assert f.name.replace("_36m", "_24m") not in names
    # the rest of the refit's features are as before: trends and recency come in
    assert {"copd_register_trend", "copd_register_months_since"} <= names
