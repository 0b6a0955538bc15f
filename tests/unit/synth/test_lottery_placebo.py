"""The placebo's adjusted comparison (benchmarks/lottery_placebo.py, lottery_regression.py):
offered against held out within each list, adjusted only for what was known before the draw;
and the hold-out kept a fixed number of months from each draw (a design the placebo measures)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from benchmarks.feedback import first_lottery
from benchmarks.lottery_placebo import prior_crises, replay
from benchmarks.lottery_regression import adjusted_ratio

CRISES = {"household_pid": pl.String, "month": pl.String, "crises": pl.Int64}


def _two_lists() -> tuple[np.ndarray, ...]:
    """Two lists, no effect within either: list A at 6 crises in 10 households, 80 of its 100
    entrants held out; list B at 1 in 10, 20 of 100 held out. Pooled without the lists the
    offered (mostly B's) look far better off."""
    crises, offered, strata = [], [], []
    for name, rate, held in (("2024-01", 0.6, 80), ("2025-01", 0.1, 20)):
        for group, n in ((False, held), (True, 100 - held)):
            k = round(rate * n)
            crises += [1] * k + [0] * (n - k)
            offered += [group] * n
            strata += [name] * n
    return np.array(crises), np.array(offered), np.array(strata)


def test_the_comparison_is_made_within_each_lists_lottery():
    y, offered, strata = _two_lists()
    ratio, low, high, se = adjusted_ratio(y, offered, strata)
    assert ratio == pytest.approx(1.0, abs=1e-9)
    assert low < 1 < high and se > 0
    # the same households without their lists: the chance of being held out and the list's
    # risk mixed, a ratio far from the truth (what the strata are for)
    pooled = adjusted_ratio(y, offered, np.zeros(y.size))[0]
    assert pooled < 0.5


def _trial(seed: int, ratio: float = 0.7, n: int = 4000) -> tuple[np.ndarray, ...]:
    """A randomised comparison where the crises before the draw foretell those after (each
    household's own rate, widely spread): the setting covariate adjustment is for."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.5, 2.0, n)
    prior = rng.poisson(rate)
    offered = rng.random(n) < 0.5
    after = rng.poisson(rate * np.where(offered, ratio, 1.0))
    return after, offered, prior


def test_adjusting_for_what_was_known_before_the_draw_narrows_the_interval():
    after, offered, prior = _trial(1)
    strata = np.zeros(after.size)
    plain = adjusted_ratio(after, offered, strata)
    adjusted = adjusted_ratio(after, offered, strata, np.log1p(prior)[:, None])
    assert adjusted[0] == pytest.approx(0.7, abs=0.07)
    assert adjusted[3] < 0.8 * plain[3]
    # over many draws the adjusted log ratios centre on the truth and spread as their errors say
    got = np.array(
        [adjusted_ratio(a, o, strata, np.log1p(p)[:, None]) for a, o, p in map(_trial, range(40))]
    )
    logs = np.log(got[:, 0])
    assert abs(logs.mean() - math.log(0.7)) < 3 * logs.std() / math.sqrt(logs.size)
    assert logs.std() == pytest.approx(got[:, 3].mean(), rel=0.3)


def test_a_quantity_measured_after_the_draw_would_take_the_effect_away():
    # why the covariates must predate the draw: the crises after it, as a "covariate",
    # explain the offer's effect away
    after, offered, prior = _trial(2)
    strata = np.zeros(after.size)
    leaked = adjusted_ratio(after, offered, strata, np.log1p(after)[:, None])[0]
    assert leaked == pytest.approx(1.0, abs=0.1)


def test_prior_crises_are_those_dated_in_the_12_months_before_the_list():
    entries = pl.DataFrame({"household_pid": ["a", "b"], "list": ["2025-01", "2025-06"]})
    crises = pl.DataFrame(
        [
            ("a", "2023-12", 5),  # 13 months before: not counted
            ("a", "2024-01", 1),  # 12 months before: counted
            ("a", "2024-12", 2),  # the month before: counted
            ("a", "2025-01", 7),  # the list's own month, after the draw: never
            ("b", "2025-05", 1),
            ("b", "2025-06", 4),
            ("b", "2025-09", 4),
        ],
        schema=CRISES,
        orient="row",
    )
    assert prior_crises(entries, crises).to_list() == [3.0, 1.0]


def test_a_hold_out_kept_months_from_each_draw():
    # three households score in the band every month; one is held out a month. Held out for the
    # generation (2 months): released at the generation's end; for 3 months from the draw: kept
    scores = pl.DataFrame({"household_pid": ["x", "y", "z"], "score": [0.5, 0.5, 0.5]})
    cycles = [(m, scores) for m in ("2025-01", "2025-02", "2025-03", "2025-04")]
    args = {"capacity": 2, "share": 0.5, "margin": None, "generation_months": 2}
    by_generation = replay(cycles, b"k" * 16, **args)
    rolling = replay(cycles, b"k" * 16, **args, hold_months=3)
    held = [set(h) for _, _, h in rolling]
    assert all(len(h) == 1 for h in held)
    assert len(set.union(*held[:3])) == 3  # three draws, three different households
    assert held[3] == held[0]  # the first released after 3 months, the only one free again
    # the generation's end (after 2 months) frees both held: two entrants again, not one
    assert len(by_generation[2][1] + by_generation[2][2]) == 2
    assert len(rolling[2][1] + rolling[2][2]) == 1
    entries = first_lottery(rolling, 2, hold_months=3)
    first = entries.filter(pl.col("held_out")).sort("list")
    # x and z first entered held out (y was offered first), each followed 3 months from its draw
    assert first["stop"].to_list() == ["2025-05", "2025-06"]


def test_listed_before_is_a_list_in_the_12_months_before_the_entrys_list():
    from benchmarks.lottery_placebo import listed_before

    entries = pl.DataFrame({"household_pid": ["a", "b", "c", "d"], "list": ["2025-01"] * 4})
    listed = {
        "2024-01": ["a"],  # 12 months before: counted
        "2023-12": ["b"],  # 13 months before: not
        "2025-01": ["c"],  # the entry's own list: the draw's doing, not before it
        "2024-07": ["a", "d"],
    }
    assert listed_before(entries, listed, 12).to_list() == [True, False, False, True]
