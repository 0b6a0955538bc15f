"""How the benchmark judges issue 25's calibration target per tenth of the probability range
(benchmarks/linkage.py: CALIBRATION_RULE): a gap of at most 0.05 where the tenth holds enough
candidates to show one, else its true rate's 95% interval reaching within 0.05 of its mean."""

from __future__ import annotations

import numpy as np

from benchmarks.linkage import TARGETS, _tenths, judge_tenth

TARGET = TARGETS["calibration"]


def test_a_tenth_big_enough_to_show_the_gap_is_judged_by_it():
    # 600 candidates at a true rate of 0.5: the interval is 0.08 wide, so a gap of 0.06 shows
    got = judge_tenth(0.44, 300, 600, TARGET)
    assert got["judged_by"] == "gap" and got["meets"] is False
    assert got["gap_beyond_interval"] == 0.0  # its interval alone would have let it pass
    assert judge_tenth(0.46, 300, 600, TARGET)["meets"] is True


def test_a_tenth_too_small_to_show_the_gap_is_judged_by_its_interval():
    # 30 candidates, 12 right: a gap of 0.1 cannot be told from chance
    got = judge_tenth(0.3, 12, 30, TARGET)
    assert got["judged_by"] == "interval" and got["meets"] is True and got["gap"] == 0.1
    # seed 431 before the fix: 55 candidates at 0.002 of whom 13 were right; the interval
    # (0.14-0.36) lies 0.09 beyond 0.002 + 0.05, so it fails even judged by its interval
    got = judge_tenth(0.0021, 13, 55, TARGET)
    assert got["judged_by"] == "interval" and got["meets"] is False
    assert got["gap_beyond_interval"] > 0.09


def test_every_tenth_holding_a_candidate_is_judged():
    p = np.array([0.05] * 3 + [0.95] * 1000)
    y = np.array([1.0] * 3 + [1.0] * 950 + [0.0] * 50)
    rows = {r["tenth"]: r for r in _tenths(p, y)}
    assert rows["0.0-0.1"]["judged_by"] == "interval" and rows["0.0-0.1"]["meets"] is False
    assert rows["0.9-1.0"]["judged_by"] == "gap" and rows["0.9-1.0"]["meets"] is True
    assert "meets" not in rows["0.5-0.6"]  # an empty tenth has nothing to judge
