"""benchmarks/effect_coverage.py: a re-drawn lottery keeps each list's own number held out, and a
draw followed over months covers in every month only where it misses in none."""

import numpy as np

from benchmarks.effect_coverage import every_cycle, shuffle_within


def test_a_shuffle_keeps_each_lists_number_held_out():
    lists = np.array(["2024-01"] * 6 + ["2024-02"] * 4 + ["2024-03"] * 3)
    held = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1], dtype=bool)
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(50):
        h = shuffle_within(lists, held, rng)
        assert [h[:6].sum(), h[6:10].sum(), h[10:].sum()] == [5, 1, 2]
        seen.add(tuple(h))
    assert len(seen) > 10  # it does shuffle


def test_a_draw_covers_in_every_month_only_where_it_misses_none():
    got = every_cycle([[True, True, None], [True, False, True], [False, False, None]])
    assert got == {
        "draws": 3,
        "months": 3,
        "covers_in_every_month": round(1 / 3, 3),
        "mean_months_missed": 1.0,
    }
