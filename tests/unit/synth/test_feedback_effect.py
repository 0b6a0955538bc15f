"""The closed-loop benchmark's effect of a visit (benchmarks/feedback.py, issue 26): each
household once, from its first lottery, offered and held out followed alike, the effect on
those who accept from the lottery (the complier estimate Hearth's report shows)."""

from __future__ import annotations

import polars as pl
import pytest

from benchmarks.feedback import first_lottery, visit_effect

CRISES = {"household_pid": pl.String, "month": pl.String, "crises": pl.Int64}
VISITS = {"household_pid": pl.String, "as_of": pl.String}


def test_each_household_counts_once_from_its_first_lottery():
    # "hi" is drawn in three lotteries (its risk stays high): once, from the first (offered);
    # "c" is held out first and offered later: held out
    draws = [
        ("2025-01", ["hi", "b"], ["c"]),
        ("2025-02", ["hi", "c", "d"], ["e"]),
        ("2025-03", ["e"], ["hi", "f"]),
    ]
    got = first_lottery(draws, generation_months=2)
    assert got.rows() == [
        ("hi", "2025-01", False, "2025-04"),
        ("b", "2025-01", False, "2025-04"),
        ("c", "2025-01", True, "2025-04"),
        ("d", "2025-02", False, "2025-04"),
        ("e", "2025-02", True, "2025-04"),
        # the second generation starts at 2025-03 and ends at 2025-05: followed to it, inclusive
        ("f", "2025-03", True, "2025-06"),
    ]


def _world(copies: int = 20) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A lottery in 2025-01 where who accepts is related to risk, followed 12 months. Per copy:
    held out 10 at high risk (6 crises a year each) and 10 at low (3); offered 10 high, of whom
    2 accept (a visit halves the rate: 3 crises), and 10 low, of whom 8 accept (1 or 2 crises,
    12 in all). By hand: a = 0.5, r_held = 90 / 240 = 0.375, r_nv = 54 / 120 = 0.45,
    r_c0 = (0.375 - 0.5 x 0.45) / 0.5 = 0.3, r_visited = 18 / 120 = 0.15: effect -0.5; the
    visited against the held out would say 0.15 / 0.375 - 1 = -0.6."""
    entries, visits, crises = [], [], []

    def add(pid: str, held: bool, visited: bool, n: int) -> None:
        entries.append((pid, "2025-01", held, "2026-06"))
        if visited:
            visits.append((pid, "2025-01"))
        # spread over the window's months, from 2025-02
        for k in range(n):
            crises.append((pid, f"2025-{2 + k % 11:02d}", 1))

    for c in range(copies):
        for i in range(10):
            add(f"{c}-held-high-{i}", True, False, 6)
            add(f"{c}-held-low-{i}", True, False, 3)
            add(f"{c}-offered-high-{i}", False, i < 2, 3 if i < 2 else 6)
            add(f"{c}-offered-low-{i}", False, i < 8, (1 + i % 2) if i < 8 else 3)
    schema = {"household_pid": pl.String, "list": pl.String, "held_out": pl.Boolean,
              "stop": pl.String}  # fmt: skip
    return (
        pl.DataFrame(entries, schema=schema, orient="row"),
        pl.DataFrame(visits, schema=VISITS, orient="row"),
        pl.DataFrame(crises, schema=CRISES, orient="row"),
    )


def test_the_effect_of_a_visit_from_the_lottery_where_who_accepts_is_related_to_risk():
    entries, visits, crises = _world()
    got = visit_effect(entries, visits, crises, "2026-02", 12, [301, 0])
    assert (got["treated_households"], got["treated_months"], got["treated_crises"]) == (
        200, 2400, 360,
    )  # fmt: skip
    assert (got["control_households"], got["control_months"], got["control_crises"]) == (
        400, 4800, 1800,
    )  # fmt: skip
    assert got["visited_share"] == 0.5
    assert got["rate_visited_without_visit"] == pytest.approx(0.3)
    assert got["estimate"] == pytest.approx(-0.5)
    assert got["low"] < -0.5 < got["high"] < 0
    # the visited against the held out: -0.6, outside the lottery's interval
    naive = (360 / 2400) / (1800 / 4800) - 1
    assert naive == pytest.approx(-0.6) and naive < got["low"]
    # the intent-to-treat beside it: (90 + 270) / 1200 over 0.375
    assert got["intent_to_treat"]["estimate"] == pytest.approx(-0.2)
    # keyed by the run's seed and cycle: the same figures again
    assert visit_effect(entries, visits, crises, "2026-02", 12, [301, 0]) == got


def test_with_no_effect_the_interval_covers_zero():
    entries, visits, crises = _world()
    # the visited households' crises as without the visit: high 6, low 3
    visited = set(visits["household_pid"])
    crises = pl.concat([crises.filter(~pl.col("household_pid").is_in(list(visited))),
                        pl.DataFrame([(p, f"2025-{2 + k:02d}", 1) for p in visited
                                      for k in range(6 if "high" in p else 3)],
                                     schema=CRISES, orient="row")])  # fmt: skip
    got = visit_effect(entries, visits, crises, "2026-02", 12, [301, 0])
    assert got["estimate"] == pytest.approx(0.0)
    assert got["low"] < 0 < got["high"]


def test_both_groups_are_followed_alike():
    """The same window for offered and held out: the months after the list month, at most
    `months`, before the draw's stop and the as-of; crises outside it are not counted, and the
    months a visit changed are those after it, inside the window."""
    entries = pl.DataFrame(
        [("off", "2025-01", False, "2025-06"), ("held", "2025-01", True, "2025-06"),
         ("late", "2025-01", False, "2025-06"), ("young", "2025-09", True, "2026-06")],
        schema={"household_pid": pl.String, "list": pl.String, "held_out": pl.Boolean,
                "stop": pl.String},
        orient="row",
    )  # fmt: skip
    # "held" visited at 2025-05 (after its generation): its effect would start at 2025-06, at
    # the stop, so no month of its window is visited; "late" visited 2025-04 (offered again
    # once the rule against offering so soon lapsed): its 2025-05 is
    visits = pl.DataFrame(
        [("off", "2025-01"), ("held", "2025-05"), ("late", "2025-04")], schema=VISITS, orient="row"
    )
    crises = pl.DataFrame(
        [("off", "2025-01", 1), ("off", "2025-02", 1), ("held", "2025-05", 2),
         ("held", "2025-06", 1), ("late", "2025-03", 1), ("late", "2025-07", 1),
         ("young", "2025-10", 1)],
        schema=CRISES, orient="row",
    )  # fmt: skip
    got = visit_effect(entries, visits, crises, "2025-10", 12, [1, 2])
    # windows 2025-02 to 2025-05 (4 months) for the three listed in 2025-01; "young" has none
    assert got["control_households"] == 1 and got["control_months"] == 4
    assert got["control_crises"] == 2  # held's 2025-05, not 2025-06
    assert got["held_out_visited_households"] == 0
    # visited: off's 4 months (its 2025-02 crisis; 2025-01 is the list month) and late's 1
    assert (got["treated_households"], got["treated_months"], got["treated_crises"]) == (2, 5, 1)
    # not visited: late's 3 months before its visit took effect, with its 2025-03 crisis
    assert (got["not_visited_months"], got["not_visited_crises"]) == (3, 1)


def test_the_summary_reads_an_interval_without_an_upper_limit():
    from benchmarks.feedback import Settings, summarise

    def cycle(effect: dict) -> dict:
        arm = {"ratio_to_oracle": 0.8, "helped_top_ratio": None, "helped_score_to_truth": None}
        return {"safe": {**arm, "effect": effect}}

    s = Settings(1000, 1, 1, effect=-0.3)
    unbounded = {"estimate": -0.2, "low": -0.5, "high": None, "intent_to_treat": {}}
    assert summarise([cycle(unbounded)], s)["effect_last_cycle"]["covers_truth"] is True
    above = {**unbounded, "low": -0.25}
    assert summarise([cycle(above)], s)["effect_last_cycle"]["covers_truth"] is False
    none = {"estimate": None, "low": None, "high": None}
    assert summarise([cycle(none)], s)["effect_last_cycle"]["covers_truth"] is None


def test_offered_and_held_out_are_compared_within_each_list_month():
    """The benchmark's estimate is the report's: offered and held out compared within each
    list month. A risky first list holds out half its 40 entrants (6 crises a year each
    without a visit, 3 with), a calm second list 36 of its 40 (2 a year, 1 with); half the
    offered are visited. Within each list a visit halves the rate (-0.5); pooled over the
    lists, the risky list's entrants are 240 of 288 offered months but 240 of 672 held-out
    ones, and the visit reads (32 / 288) / (192 / 672 - 64 / 288) - 1 = +0.75."""
    from hearth.months import add_months

    entries, visits, crises = [], [], []

    def add(pid: str, month: str, held: bool, visited: bool, n: int) -> None:
        entries.append((pid, month, held, "2027-01"))
        if visited:
            visits.append((pid, month))
        crises.extend((pid, add_months(month, 1 + k % 11), 1) for k in range(n))

    for i in range(20):
        add(f"risky-held-{i}", "2025-01", True, False, 6)
    for i in range(20):
        add(f"risky-offered-{i}", "2025-01", False, i < 10, 3 if i < 10 else 6)
    for i in range(36):
        add(f"calm-held-{i}", "2025-02", True, False, 2)
    for i in range(4):
        add(f"calm-offered-{i}", "2025-02", False, i < 2, 1 if i < 2 else 2)
    schema = {"household_pid": pl.String, "list": pl.String, "held_out": pl.Boolean,
              "stop": pl.String}  # fmt: skip
    e = pl.DataFrame(entries, schema=schema, orient="row")
    v = pl.DataFrame(visits, schema=VISITS, orient="row")
    c = pl.DataFrame(crises, schema=CRISES, orient="row")
    got = visit_effect(e, v, c, "2026-06", 12, [301, 0])
    assert got["estimate"] == pytest.approx(-0.5)
    assert (got["list_months"], got["list_months_compared"]) == (2, 2)
    assert got["intent_to_treat"]["estimate"] == pytest.approx(-0.25)
    pooled = visit_effect(e, v, c, "2026-06", 12, [301, 0], by_list=False)
    assert pooled["estimate"] == pytest.approx((32 / 288) / (192 / 672 - 64 / 288) - 1)
