"""Fairness by group (hearth/modelling/evaluation/fairness.py) against hand-worked Wilson intervals
and the flag rule:
a flag only when the gap is clear of the intervals, too-small groups too few to judge, groups
in words."""

import numpy as np
import polars as pl
import pytest

from hearth.modelling.evaluation.fairness import (
    BEST,
    CLEAR_GAP,
    MIN_CRISES,
    NO_CLEAR_GAP,
    TOO_FEW,
    fairness_metrics,
    fairness_table,
    group_columns,
    judge,
    ratio_interval,
    wilson,
)


def pids(n: int) -> np.ndarray:
    return np.array([f"{i:064x}" for i in range(n)])


def test_wilson_intervals_by_hand():
    # p = 0.5, n = 10: centre 0.5, half-width 1.96 * sqrt(0.025 + 0.0096) / 1.3841 = 0.2634
    assert wilson(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    # 0 of 20: from 0 to 2 * (1.96^2 / 40) / (1 + 1.96^2 / 20) = 0.16113
    assert wilson(0, 20) == pytest.approx((0.0, 0.16113), abs=1e-5)
    assert wilson(30, 40) == pytest.approx((0.59806, 0.85813), abs=1e-5)
    assert wilson(4, 40) == pytest.approx((0.03958, 0.23052), abs=1e-5)
    assert all(np.isnan(wilson(0, 0)))


def rows(*groups):
    return [
        {"group": g, "households": h, "crises": c, "listed": listed, "found": f}
        for g, h, c, listed, f in groups
    ]


def test_a_flag_needs_the_gap_clear_of_the_intervals():
    out = {
        r["group"]: r
        for r in judge(
            rows(
                ("a", 100, 40, 35, 30),  # recall 0.75, interval 0.598-0.858: best-served
                ("b", 100, 40, 30, 22),  # 0.55: ratio 0.73 < 0.8, but its interval tops 1.013
                ("c", 200, 40, 10, 4),  # 0.10: ratio 0.13, interval 0.052 to 0.319: clear
                ("d", 50, MIN_CRISES - 1, 2, 0),  # 19 crises: too few to judge
            )
        )
    }
    a, b, c, d = (out[g] for g in "abcd")
    assert (a["verdict"], a["flag"], a["recall_ratio_to_best"]) == (BEST, False, 1.0)
    assert b["recall_ratio_to_best"] == pytest.approx(0.55 / 0.75)
    assert (b["flag"], b["verdict"]) == (False, NO_CLEAR_GAP)
    assert (b["recall_low"], b["recall_high"]) == pytest.approx((0.39829, 0.69295), abs=1e-5)
    assert b["ratio_high"] == pytest.approx(1.01348, abs=1e-4)
    assert (c["flag"], c["verdict"]) == (True, CLEAR_GAP)
    assert (c["ratio_low"], c["ratio_high"]) == pytest.approx((0.05242, 0.31897), abs=1e-4)
    assert c["precision"] == 0.4
    assert (c["precision_low"], c["precision_high"]) == pytest.approx(wilson(4, 10))
    assert (d["judged"], d["flag"], d["verdict"]) == (False, False, TOO_FEW)
    assert np.isnan(d["recall_ratio_to_best"])
    # the best-served group is chosen among judged groups only: d's 0/19 cannot be it, and a
    # tiny group with every crisis found does not become the reference
    tiny = judge(rows(("a", 100, 40, 35, 30), ("e", 5, 2, 2, 2), ("c", 200, 40, 10, 4)))
    assert [r["verdict"] for r in tiny] == [BEST, TOO_FEW, CLEAR_GAP]


def test_the_ratio_interval_by_hand():
    """MOVER-R from the two Wilson intervals, worked by hand for 7/58 against 22/58:
    p1 p2 = 0.045779; u1 l2 (2 p1 - u1)(2 p2 - l2) = 0.000377; the top is
    (0.045779 + sqrt(0.045779^2 - 0.000377)) / (l2 (2 p2 - l2)) = 0.087236 / 0.130955."""
    top = ratio_interval(7 / 58, wilson(7, 58), 22 / 58, wilson(22, 58))[1]
    assert top == pytest.approx(0.66614, abs=1e-4)
    assert all(np.isnan(ratio_interval(0.1, (0.0, 0.2), 0.0, (0.0, 0.1))))


def test_a_gap_just_inside_the_interval_is_not_flagged():
    # against 30/40, 16/40's ratio interval tops at 0.794: flagged; 17/40's at 0.831: not
    r16 = judge(rows(("a", 100, 40, 35, 30), ("x", 100, 40, 20, 16)))[1]
    r17 = judge(rows(("a", 100, 40, 35, 30), ("x", 100, 40, 20, 17)))[1]
    assert r16["ratio_high"] == pytest.approx(0.79424, abs=1e-4)
    assert r17["ratio_high"] == pytest.approx(0.83124, abs=1e-4)
    assert (r16["flag"], r17["flag"]) == (True, False)


def test_fairness_table_counts_on_one_cut_for_everyone():
    # 400 households; group a's 20 crises score high, group b's 20 crises score low
    n = 400
    group = np.array(["a"] * 200 + ["b"] * 200)
    y = np.zeros(n, dtype=int)
    y[:20] = 1
    y[200:220] = 1
    s = np.where(group == "a", 0.5, 0.1) + y * np.where(group == "a", 0.4, 0.0)
    t = fairness_table(y, s, pids(n), pl.DataFrame({"g": group}), share=0.05)
    a = t.filter(pl.col("group") == "a").row(0, named=True)
    b = t.filter(pl.col("group") == "b").row(0, named=True)
    # the top 5% is 20 households, all group a's crises
    assert (a["households"], a["crises"], a["listed"], a["found"]) == (200, 20, 20, 20)
    assert (b["households"], b["crises"], b["listed"], b["found"]) == (200, 20, 0, 0)
    assert (a["recall"], b["recall"], b["flag"], b["verdict"]) == (1.0, 0.0, True, CLEAR_GAP)
    assert np.isnan(b["precision"])
    metrics = fairness_metrics(t)
    assert metrics["fairness.g.b.flag"] == 1.0 and metrics["fairness.groups_flagged"] == 1.0
    assert metrics["fairness.g.a.recall_low"] == pytest.approx(wilson(20, 20)[0])
    assert "fairness.g.b.precision" not in metrics  # nothing listed: no share to log


def test_groups_are_in_words_and_quintile_one_is_the_most_deprived_fifth():
    frame = pl.DataFrame(
        {
            "imd_decile": [1, 2, 3, 10, None],
            "oldest_age": [20, 40, 70, 90, None],
            "ethnic_group": ["MIXED", None, "NOT_STATED", "WHITE", "ASIAN"],
            "lives_alone": [1, 0, 0, 1, None],
        }
    )
    g = group_columns(frame)
    assert g["deprivation_quintile"].to_list() == [
        "most deprived fifth",
        "most deprived fifth",
        "second most deprived fifth",
        "least deprived fifth",
        "not known",
    ]
    assert g["ethnic_group"].to_list()[:3] == [
        "mixed or multiple ethnic groups",
        "not stated",
        "not stated",
    ]
    assert g["age_band"].to_list() == [
        "oldest resident under 35",
        "oldest resident 35 to 64",
        "oldest resident 65 to 74",
        "oldest resident 75 or over",
        "not known",
    ]
    assert g["single_occupant"].to_list()[-1] == "not known"


def test_a_too_small_group_logs_no_shares():
    t = fairness_table(
        np.array([1, 0, 0, 0]),
        np.array([0.9, 0.1, 0.2, 0.3]),
        pids(4),
        pl.DataFrame({"g": ["a", "a", "b", "b"]}),
    )
    m = fairness_metrics(t)
    assert m["fairness.g.a.judged"] == 0.0 and "fairness.g.a.recall" not in m
    assert m["fairness.groups_too_few_to_judge"] == 2.0
