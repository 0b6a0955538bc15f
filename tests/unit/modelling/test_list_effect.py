"""Is the list working? (issue 26) on a small world whose answer is known: the lottery's
held-out and offered households, the visits landed through the interventions contract, and the
crises after the list. Counts, Wilson intervals, rate ratios with their interval, small numbers
suppressed in the card and the report."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import date
from html import escape

import numpy as np
import polars as pl
import pytest

from hearth.features.catalogue import load_catalogue
from hearth.ingest.landing import Extract
from hearth.ingest.load import ingest_extract
from hearth.modelling.evaluation.complier import complier_effect
from hearth.modelling.evaluation.list_effect import (
    COMPLIER,
    EVERY_ENTRANT,
    OFFER,
    card_lines,
    list_working,
    lottery_ratio,
    power_sentence,
    reason_source,
    shown,
    wilson,
)
from hearth.modelling.scoring.holdout_run import HoldoutSettings, decide_holdout, describe_entries
from hearth.publish.report.list_working import list_working_section
from hearth.quality.contracts import load_contract
from hearth.sources import SOURCES
from hearth.suppression import is_disclosive
from hearth.warehouse import connect

PIDS = [hashlib.sha256(f"home {i}".encode()).hexdigest() for i in range(1000)]
SCORED = pl.DataFrame({"household_pid": PIDS, "score": np.linspace(0.6, 0.001, len(PIDS))})
LIST = "2025-01"
# the lead the list suggested and the first reason's feature, as the month's ranked list keeps them
LEADS = ["Fire and rescue (safe and well visit)", "Neighbourhood policing"]
REASONS = ["fire_smoking_12m", "over_75s", "breathing_records_12m"]
DESCRIBED = pl.DataFrame(
    {
        "household_pid": PIDS,
        "as_of": LIST,
        "lead_agency": [LEADS[i % 2] for i in range(len(PIDS))],
        "reason_1_feature": [REASONS[i % 3] for i in range(len(PIDS))],
    }
)


def rate_ratio(k1: int, n1: int, k0: int, n0: int) -> tuple[float, float, float]:
    """Katz's ratio of two rates with its 95% interval, by hand: the reference a comparison
    within one list must equal."""
    ratio = (k1 / n1) / (k0 / n0)
    se = math.sqrt(1 / k1 - 1 / n1 + 1 / k0 - 1 / n0)
    return (ratio, ratio * math.exp(-1.959964 * se), ratio * math.exp(1.959964 * se))


def _one_list(k1: int, n1: int, k0: int, n0: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    def group(n: int, k: int) -> pl.DataFrame:
        return pl.DataFrame({"as_of": ["2024-01"] * n, "crisis": [True] * k + [False] * (n - k)})

    return group(n1, k1), group(n0, k0)


def test_wilson_and_the_ratio_on_one_list_by_hand():
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert wilson(0, 10)[0] == 0.0
    ratio, lo, hi, se = lottery_ratio(*_one_list(20, 100, 40, 100))
    assert se == pytest.approx(math.sqrt(1 / 20 - 1 / 100 + 1 / 40 - 1 / 100))
    assert ratio == pytest.approx(0.5)
    assert (lo, hi) == pytest.approx(
        (0.5 * math.exp(-1.959964 * se), 0.5 * math.exp(1.959964 * se))
    )
    assert math.isnan(lottery_ratio(*_one_list(0, 10, 3, 10))[0])


def _land_visits(con, tmp_path, visited: list[str], by_fire) -> None:
    """Each of `visited` offered help from the list in January 2025, accepted and completed,
    landed through the interventions contract: a fire safety visit where `by_fire(i)`, a falls
    review by health otherwise."""
    rows = [
        {
            "record_id": f"IV{i + 1:08d}",
            "household_pid": p,
            "offer_date": "2025-01-10",
            "agency": "fire" if by_fire(i) else "health",
            "team": None,
            "offer_type": "FIRE_SAFETY_VISIT" if by_fire(i) else "FALLS_REVIEW",
            "from_list": "Y",
            "list_generation": "v1",
            "list_rank": str(i + 1),
            "response": "ACCEPTED",
            "completed_date": "2025-01-20",
        }
        for i, p in enumerate(visited)
    ]
    file = tmp_path / "interventions" / LIST / f"interventions_{LIST}.csv"
    file.parent.mkdir(parents=True)
    cols = SOURCES["interventions"].columns
    pl.DataFrame(rows, schema={c: pl.String for c in cols}).write_csv(file)
    r = ingest_extract(con, load_contract("interventions"), Extract("interventions", LIST, file))
    assert r.status == "loaded" and r.rows_accepted == len(visited), r.message


@pytest.fixture
def world(hearth_home, tmp_path, monkeypatch):
    """200 households enter the lottery of the list scored in 2025-01 (margin: all within
    capacity), 40 held out. 100 of the offered are visited (fire 90 of them, health 10)."""
    monkeypatch.setenv("HEARTH_HOLDOUT_KEY", "a made-up hold-out key for tests")
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        d = decide_holdout(con, SCORED, LIST, "v1", 200, HoldoutSettings(0.2, "DPO", None))
        assert d.held_out == 40
        con.register("described", DESCRIBED)
        con.execute("CREATE TABLE household_scores AS SELECT * FROM described")
        describe_entries(con, LIST)
        flags = con.sql(
            "SELECT household_pid, held_out FROM holdout_assignments WHERE in_margin"
        ).pl()
        held = sorted(flags.filter(pl.col("held_out"))["household_pid"])
        offered = sorted(flags.filter(~pl.col("held_out"))["household_pid"])
        visited = offered[:100]
        _land_visits(con, tmp_path, visited, lambda i: i < 90)
        # crises in the 6 months after the list: held out 20 of 40, visited 20 of 100 (fire 14
        # of 90, health 6 of 10), one more for a held-out household after the horizon
        crisis = held[:20] + visited[:14] + visited[90:96]
        events = [(p, date(2025, 3, 1)) for p in crisis] + [(held[30], date(2025, 9, 1))]
        con.execute(
            "CREATE TABLE linked_events (household_pid VARCHAR, event_date DATE, is_crisis BOOLEAN)"
        )
        con.executemany("INSERT INTO linked_events VALUES (?, ?, TRUE)", events)
    return path


def test_crisis_rates_of_offered_visited_and_held_out(world):
    with connect(world) as con:
        assert list_working(con, "2025-06") is None  # the list is not 6 months old yet
        section = list_working(con, "2025-07")
    groups = {g["group"]: g for g in section["groups"]}
    assert (groups["held out"]["households"], groups["held out"]["crises"]) == (40, 20)
    assert (groups["offered"]["households"], groups["offered"]["crises"]) == (160, 20)
    assert (
        groups["offered and visited"]["households"],
        groups["offered and visited"]["crises"],
    ) == (
        100,
        20,
    )
    assert (groups["held out"]["low"], groups["held out"]["high"]) == wilson(20, 40)
    effects = {e["comparison"]: e for e in section["effects"]}
    visit = effects["visited against held out"]
    # one list: compared within it is the plain ratio with Katz's interval
    assert (visit["ratio"], visit["low"], visit["high"]) == pytest.approx(
        rate_ratio(20, 100, 20, 40)
    )
    assert visit["high"] < 1  # a visit halves the crisis rate here, beyond chance
    agency = {e["comparison"]: e for e in section["by_agency"]}
    assert (agency["fire"]["households"], agency["fire"]["crises"]) == (90, 14)
    assert (agency["health"]["households"], agency["health"]["crises"]) == (10, 6)
    assert [e["comparison"] for e in section["by_offer"]] == ["FALLS_REVIEW", "FIRE_SAFETY_VISIT"]


def _by_hand(con, value_of) -> dict[str, tuple[int, int, int, int]]:
    """Offered households, their crises, held-out households, their crises, per value."""
    rows = con.sql("SELECT household_pid, held_out FROM holdout_assignments WHERE in_margin").pl()
    crisis = set(
        con.sql("SELECT household_pid FROM linked_events WHERE event_date < '2025-07-01'").pl()[
            "household_pid"
        ]
    )
    out: dict[str, list[int]] = {}
    for pid, held in rows.iter_rows():
        got = out.setdefault(value_of[pid], [0, 0, 0, 0])
        got[2 * held] += 1
        got[2 * held + 1] += pid in crisis
    return {k: tuple(v) for k, v in out.items()}


def test_offered_against_held_out_within_each_lead_and_first_reasons_source(world):
    cat = load_catalogue()
    row = {p: i for i, p in enumerate(PIDS)}
    with connect(world) as con:
        section = list_working(con, "2025-07")
        leads = _by_hand(con, {p: LEADS[i % 2] for p, i in row.items()})
        sources = _by_hand(con, {p: reason_source(cat, REASONS[i % 3]) for p, i in row.items()})
    for got, want in ((section["by_lead"], leads), (section["by_reason"], sources)):
        assert sorted(e["comparison"] for e in got) == sorted(want)
        for e in got:
            offered, offered_crises, held, held_crises = want[e["comparison"]]
            assert (e["households"], e["crises"]) == (offered, offered_crises)
            assert (e["ratio"], e["low"], e["high"]) == pytest.approx(
                rate_ratio(offered_crises, offered, held_crises, held), nan_ok=True
            )
    assert sorted(sources) == ["fire", "several agencies", "the household register"]
    card = "\n".join(card_lines(section))
    html = list_working_section({"list_working": section})
    for words in ("lead Neighbourhood policing", "first reason from the household register"):
        assert words in card
    assert "by the lead the list suggested" in html and "first reason rests on" in html


def test_a_warehouse_kept_before_leads_were_stored_still_says_whether_the_list_works(world):
    with connect(world) as con:
        con.execute("ALTER TABLE holdout_assignments DROP COLUMN lead_agency")
        con.execute("ALTER TABLE holdout_assignments DROP COLUMN reason_feature")
        section = list_working(con, "2025-07")
    assert section["groups"][0]["households"] == 40
    assert section["by_lead"] == [] and section["by_reason"] == []
    assert "Is the list working?" in "\n".join(card_lines(section))


def test_reasons_source_names_no_record_kind():
    cat = load_catalogue()
    assert reason_source(cat, "fire_smoking_12m") == "fire"
    assert reason_source(cat, "ae_fall_3m") == "health"
    assert reason_source(cat, "over_75s") == "the household register"
    assert reason_source(cat, "breathing_records_12m") == "several agencies"
    assert reason_source(cat, None) is None and reason_source(cat, "no_such_feature") is None
    # every value reads as an agency or one of the two plain groups, never a feature's words
    allowed = {a.replace("_", " ") for a in cat.agencies}
    allowed |= {"the household register", "several agencies"}
    assert {reason_source(cat, f.name) for f in cat.features} <= allowed


def test_small_numbers_are_suppressed_in_the_card_and_the_report(world):
    with connect(world) as con:
        section = list_working(con, "2025-07")
    cells = shown(section)
    health = next(r for r in cells["by_agency"] if r[0] == "health")
    assert health == ["health", "10", "*", "*"]  # 6 crises: the count and its ratio withheld
    held = cells["groups"][0]
    assert held[:3] == ["held out", "40", "20"] and held[3].startswith("50.0% (")
    card = "\n".join(card_lines(section))
    html = list_working_section({"list_working": section, "holdout": {"sentence": "Held out."}})
    assert "Is the list working?" in card and "Is the list working?" in html
    assert "not a ranking" in card and "Held out." in html
    for text in (card, html):
        cells_text = re.findall(r"<td>(.*?)</td>", text) or [
            c.strip() for ln in text.splitlines() if ln.startswith("|") for c in ln.split("|")
        ]
        assert not any(is_disclosive(c) for c in cells_text)
    assert "No list with a hold-out" in list_working_section({})


def test_safe_updating_reads_what_an_offer_does_from_the_lottery(world):
    """Once the lottery tells the offer ratio, retraining keeps every household and counts the
    listed households' crises as without the offer (hearth/modelling/training/safe_updating.py)."""
    from hearth.modelling.training.offer_correction import offer_ratio
    from hearth.modelling.training.safe_updating import safe_updating

    with connect(world) as con:
        assert offer_ratio(con, "2025-06") == 1.0  # the list is not 6 months old: the prior
        # offered 20 of 160 against held out 20 of 40: 0.25, weighed 0.65 against the prior
        # (0.41) and trusted no lower than 0.5
        assert offer_ratio(con, "2025-07") == 0.5
        # the ratio training reads is the report's own "offered against held out"
        from hearth.modelling.training.offer_correction import offer_evidence

        told, shown_row = offer_evidence(con, "2025-07"), list_working(con, "2025-07")["effects"][0]
        assert (told.offered, told.offered_crises) == (shown_row["households"], shown_row["crises"])
        assert (told.within_lists, told.log_se) == (shown_row["ratio"], shown_row["log_se"])
        before = safe_updating(con, "2024-02", "2025-02", "2025-06")
        su = safe_updating(con, "2024-02", "2025-02", "2026-02")
    assert before.acted_on and before.corrected and before.ratio == 1.0  # the prior, until told
    assert su.corrected and su.ratio == 0.5
    # the 200 listed (the held-out's places filled from below the margin); in training listed
    # 11 months into the window (1/12 of it under the offer), in validation before it opened
    train, valid = su.train_correction.share, su.valid_correction.share
    assert len(train) == len(valid) == 200
    assert set(train.values()) == {1 / 12} and set(valid.values()) == {1.0}


# --- a visit's effect on those who accept, estimated by the lottery ------------------------------
# A hand-made lottery where who accepts is related to risk: half the entrants at high risk (a
# crisis for 1 in 2), half at low (1 in 10); the high-risk offered accept 1 in 5, the low-risk 4
# in 5; a visit halves the risk (true ratio 0.5). Held out: 1000 (250 + 50 crises). Offered:
# 1000; visited 100 high (25 crises) and 400 low (20); not visited 400 high (200) and 100 low
# (10). By hand: a = 0.5, r_held = 0.3, r_nv = 0.42, r_c0 = (0.3 - 0.5 x 0.42) / 0.5 = 0.18,
# r_visited = 0.09, ratio 0.5 exactly; visited against held out gives 0.09 / 0.3 = 0.3.
TRUE_RATIO = 0.5


def _lottery(effect: float = TRUE_RATIO, held_visited: int = 0) -> pl.DataFrame:
    """One row per entrant: household_pid, held_out, visited, crisis (0/1); `held_visited` of
    the held-out low-risk households visited all the same (after their hold-out ended)."""
    rows = []

    def add(n: int, crises: int, held: bool, visited: bool) -> None:
        for i in range(n):
            pid = hashlib.sha256(f"entrant {len(rows)}".encode()).hexdigest()
            rows.append((pid, held, visited, int(i < crises)))

    add(500, 250, True, False)  # held out, high risk
    add(500 - held_visited, round((500 - held_visited) * 0.1), True, False)  # held out, low
    add(held_visited, round(held_visited * 0.1 * effect), True, True)  # held out, visited
    add(100, round(100 * 0.5 * effect), False, True)  # visited, high risk
    add(400, round(400 * 0.1 * effect), False, True)  # visited, low risk
    add(400, 200, False, False)  # declined, high risk
    add(100, 10, False, False)  # declined, low risk
    return pl.DataFrame(
        rows, schema=["household_pid", "held_out", "visited", "crisis"], orient="row"
    )


def _complier_of(rows: pl.DataFrame, **kw) -> dict:
    return complier_effect(
        rows["crisis"].to_numpy(),
        np.ones(rows.height),
        rows["held_out"].to_numpy(),
        rows["visited"].to_numpy(),
        **kw,
    )


def test_the_lottery_recovers_a_visits_effect_where_who_accepts_is_related_to_risk():
    rows = _lottery()
    got = _complier_of(rows)
    assert got["visited_share"] == 0.5 and got["held_visited_share"] == 0.0
    assert got["rate_visited"] == pytest.approx(0.09)
    assert got["rate_without_visit"] == pytest.approx(0.18)
    assert got["ratio"] == pytest.approx(TRUE_RATIO)
    assert got["low"] < TRUE_RATIO < got["high"] < 1  # recovered, and beyond chance
    # visited against held out mixes the visit with who accepts: 0.3, its interval misses 0.5
    visited = rows.filter(pl.col("visited"))
    ratio, low, high = rate_ratio(int(visited["crisis"].sum()), visited.height, 300, 1000)
    assert ratio == pytest.approx(0.3) and high < TRUE_RATIO
    # the intent-to-treat (offered against held out) beside it: (45 + 210) / 1000 over 0.3
    assert got["itt_ratio"] == pytest.approx(0.85) and got["itt_low"] < 0.85 < got["itt_high"]
    # keyed: the same seed, the same interval; another seed, another draw
    assert _complier_of(rows) == got
    assert _complier_of(rows, seed=7)["low"] != got["low"]


def test_with_no_effect_the_interval_covers_none():
    got = _complier_of(_lottery(effect=1.0))
    assert got["ratio"] == pytest.approx(1.0)
    assert got["low"] < 1.0 < got["high"]


def test_a_held_out_household_visited_later_is_allowed_for():
    """Two-sided: 100 of the held-out low-risk households were visited (after their hold-out
    ended) with 5 crises in place of 10: the general Wald form still gives 0.5."""
    rows = _lottery(held_visited=100)
    # held out now 500 high (250) + 400 low unvisited (40) + 100 low visited (5)
    assert int(rows.filter(pl.col("held_out"))["crisis"].sum()) == 295
    got = _complier_of(rows)
    assert got["held_visited_share"] == pytest.approx(0.1)
    assert got["ratio"] == pytest.approx(TRUE_RATIO)


def test_no_ratio_when_it_cannot_be_told():
    rows = _lottery()
    assert math.isnan(_complier_of(rows.filter(~pl.col("held_out")))["ratio"])  # none held out
    nobody = rows.with_columns(pl.lit(False).alias("visited"))
    assert math.isnan(_complier_of(nobody)["ratio"])  # nobody visited: no complier
    # the not-visited alone have more crises than the held out: r_c0 would be negative
    worse = rows.with_columns(
        pl.when(pl.col("held_out")).then(0).otherwise(pl.col("crisis")).alias("crisis")
    )
    got = _complier_of(worse)
    assert math.isnan(got["ratio"]) and got["unbounded_share"] == 1.0


def _lottery_warehouse(path, rows: pl.DataFrame, tmp_path) -> None:
    """The hand-made lottery as Hearth keeps it: the entrants of one list, the visits through
    the interventions contract, the crises in the months after."""
    from hearth.warehouse import run_sql

    with connect(path) as con:
        run_sql(con, "modelling/holdout_schema")
        entrants = rows.select(
            pl.lit(LIST).alias("as_of"),
            pl.lit("v1").alias("generation"),
            "household_pid",
            pl.int_range(1, rows.height + 1).alias("score_rank"),
            pl.lit(True).alias("in_margin"),
            "held_out",
            (~pl.col("held_out")).alias("listed"),
        )
        con.register("entrants", entrants)
        con.execute("INSERT INTO holdout_assignments BY NAME SELECT * FROM entrants")
        visited = rows.filter(pl.col("visited"))["household_pid"].to_list()
        _land_visits(con, tmp_path, visited, lambda i: True)
        crisis = rows.filter(pl.col("crisis") == 1)["household_pid"].to_list()
        con.execute(
            "CREATE TABLE linked_events (household_pid VARCHAR, event_date DATE, is_crisis BOOLEAN)"
        )
        con.executemany(
            "INSERT INTO linked_events VALUES (?, ?, TRUE)", [(p, date(2025, 3, 1)) for p in crisis]
        )


def test_the_report_shows_a_visits_effect_on_those_who_accept(hearth_home, tmp_path):
    rows = _lottery()
    path = tmp_path / "w.duckdb"
    _lottery_warehouse(path, rows, tmp_path)
    with connect(path) as con:
        section = list_working(con, "2025-07")
    first, visited, complier, every = section["effects"]
    # the lottery's own comparison stays first (offer_correction.offer_ratio reads it); no
    # entrant was listed the year before, so it is every entrant's too
    assert first["comparison"] == OFFER and every["comparison"] == EVERY_ENTRANT
    assert first["ratio"] == pytest.approx(0.85) and every["ratio"] == first["ratio"]
    assert visited["ratio"] == pytest.approx(0.3) and visited["high"] < TRUE_RATIO
    assert complier["comparison"] == COMPLIER
    assert (complier["households"], complier["crises"]) == (500, 45)
    assert complier["ratio"] == pytest.approx(TRUE_RATIO)
    assert complier["low"] < TRUE_RATIO < complier["high"]
    assert complier["parts"] == {
        "not_visited_households": 500,
        "not_visited_crises": 210,
        "held_households": 1000,
        "held_crises": 300,
        "held_visited_households": 0,
        "held_visited_crises": 0,
    }
    cells = shown(section)["effects"]
    assert cells[2][:3] == [COMPLIER, "500", "45"] and cells[2][3].startswith("0.50 (")
    card = "\n".join(card_lines(section))
    html = list_working_section({"list_working": section})
    assert COMPLIER in card and escape(COMPLIER) in html
    assert "without the visit" in card and "without the visit" in html
    # what the lottery can tell so far, from its own comparison's error, in both
    k = (1.959964 + 0.841621) * first["log_se"]
    power = power_sentence(section)
    assert f"lowers crises by {100 * (1 - math.exp(-k)):.0f}% or more" in power
    assert power in card and escape(power) in html


def test_what_the_lottery_can_tell_is_said_and_withheld_with_small_numbers():
    def section(households: int, crises: int, held: tuple[int, int], se: float) -> dict:
        first = {"comparison": OFFER, "households": households,
                 "crises": crises, "ratio": 0.9, "low": 0.7, "high": 1.1, "log_se": se}  # fmt: skip
        group = {"group": "held out", "households": held[0], "crises": held[1]}
        return {"groups": [group], "effects": [first]}

    # (1.96 + 0.84) x 0.1 = 0.280 on the log scale: a fall of 24% or a rise of 32%
    said = power_sentence(section(1000, 100, (500, 60), 0.1))
    assert "lowers crises by 24% or more (or raises them by 32% or more)" in said
    assert "8 times in 10" in said and "not evidence that the visits do nothing" in said
    assert "by 45% or more" in power_sentence(section(1000, 100, (500, 60), 0.214))
    assert power_sentence(section(1000, 100, (500, 6), 0.1)) is None  # held-out crises small
    assert power_sentence(section(1000, 5, (500, 60), 0.1)) is None
    assert power_sentence(section(1000, 100, (500, 60), float("nan"))) is None
    assert power_sentence({"groups": [], "effects": []}) is None


def test_a_visits_effect_on_those_who_accept_is_withheld_when_a_group_it_rests_on_is_small(
    hearth_home, tmp_path
):
    # only 5 offered households declined: their crises could be worked out from the effect
    rows = _lottery()
    declined = rows.filter(~pl.col("held_out") & ~pl.col("visited"))["household_pid"]
    rows = rows.filter(~pl.col("household_pid").is_in(declined.slice(5).implode()))
    path = tmp_path / "w.duckdb"
    _lottery_warehouse(path, rows, tmp_path)
    with connect(path) as con:
        section = list_working(con, "2025-07")
    assert section["effects"][2]["parts"]["not_visited_households"] == 5
    cells = shown(section)["effects"]
    assert cells[2] == [COMPLIER, "500", "45", "*"]
    assert cells[1][3] != "*"  # visited against held out rests on neither


def test_an_interval_without_an_upper_limit_says_so():
    row = {"comparison": COMPLIER, "households": 40, "crises": 10, "ratio": 0.8, "low": 0.3,
           "high": float("inf"), "parts": {"held_households": 20, "held_crises": 9}}  # fmt: skip
    section = {"groups": [], "effects": [row], "by_agency": [], "by_offer": []}
    assert shown(section)["effects"][0][3] == "0.80 (0.30 to no upper limit)"


def test_offered_and_held_out_are_compared_within_each_lists_lottery():
    """The chance of being held out differs from list to list (a generation's salt holds the
    same households first), and lists' months differ in risk: pooled, the comparison mixes the
    two; compared within each list (Mantel-Haenszel), the offer's own ratio."""

    def group(as_of: str, held: bool, n: int, k: int) -> pl.DataFrame:
        return pl.DataFrame(
            {"as_of": [as_of] * n, "held_out": [held] * n, "crisis": [True] * k + [False] * (n - k)}
        )

    # an offer that cuts crises to 0.8 in each list; a risky first list holding out 80% of
    # its entrants, a calm later one holding out 20%
    rows = pl.concat(
        [
            group("2024-01", False, 100, 32), group("2024-01", True, 400, 160),
            group("2024-02", False, 400, 32), group("2024-02", True, 100, 10),
        ]
    )  # fmt: skip
    offered, held = rows.filter(~pl.col("held_out")), rows.filter(pl.col("held_out"))
    pooled = (64 / 500) / (170 / 500)
    assert pooled == pytest.approx(
        0.376, abs=0.001
    )  # pooled, the calm list's many offered flatter it
    ratio, low, high, se = lottery_ratio(offered, held)
    assert ratio == pytest.approx(0.8) and low < 0.8 < high and se > 0
    # Greenland-Robins on one list is Katz's interval
    one = rows.filter(pl.col("as_of") == "2024-01")
    got = lottery_ratio(one.filter(~pl.col("held_out")), one.filter(pl.col("held_out")))
    assert got[:3] == pytest.approx(rate_ratio(32, 100, 160, 400))
    # a list with nobody held out (or nobody offered) tells nothing of the offer
    lone = group("2024-03", False, 50, 40)
    assert lottery_ratio(pl.concat([offered, lone]), held)[:3] == pytest.approx((ratio, low, high))
    assert all(math.isnan(x) for x in lottery_ratio(offered.head(0), held))


def test_the_offers_comparison_leaves_out_entrants_a_list_named_in_the_year_before(world):
    """An entrant listed (not held out) by a list in the 12 months before its lottery's list was
    offered help then: the lottery changes little for it, so the offer's comparison (the ratio
    safe updating reads) is made among the others. Only lists before the draw count: a listing
    in the lottery's own month or after it is the draw's doing."""
    from hearth.modelling.training.offer_correction import offer_evidence

    with connect(world) as con:
        flags = con.sql(
            "SELECT household_pid, held_out FROM holdout_assignments WHERE in_margin"
        ).pl()
        held = sorted(flags.filter(pl.col("held_out"))["household_pid"])
        offered = sorted(flags.filter(~pl.col("held_out"))["household_pid"])
        earlier = (
            [("2024-06", p, True, False) for p in offered[100:110]]  # counted
            + [("2024-01", p, True, False) for p in held[0:5]]  # 12 months before: counted
            + [("2023-12", p, True, False) for p in offered[110:115]]  # 13 months: not
            + [("2025-02", p, True, False) for p in offered[115:120]]  # after the draw: not
            + [("2024-08", p, False, True) for p in held[5:8]]  # held out then: not
        )
        con.executemany(
            "INSERT INTO holdout_assignments (as_of, generation, household_pid, score_rank, "
            "in_margin, held_out, listed) VALUES (?, 'v0', ?, 1, false, ?, ?)",
            [(m, p, h, listed) for m, p, listed, h in earlier],
        )
        section = list_working(con, "2025-07")
        told = offer_evidence(con, "2025-07")
    first, every = section["effects"][0], section["effects"][3]
    # held out 40 (20 crises, held[0:5] among them), offered 160 (20 crises, none in 100:120)
    assert (every["households"], every["crises"]) == (160, 20)
    assert (first["households"], first["crises"]) == (150, 20)
    assert (told.offered, told.offered_crises, told.held_out, told.held_out_crises) == (
        150,
        20,
        35,
        15,
    )
    assert first["ratio"] == pytest.approx(rate_ratio(20, 150, 15, 35)[0])
    groups = {g["group"]: g for g in section["groups"]}
    assert groups["held out"]["households"] == 40  # the groups' rates keep every entrant


def test_the_offers_comparison_is_withheld_when_its_held_out_group_is_small(world):
    # 35 of the 40 held-out entrants listed the year before: 5 left, shown nowhere else
    with connect(world) as con:
        held = sorted(
            con.sql(
                "SELECT household_pid FROM holdout_assignments WHERE in_margin AND held_out"
            ).pl()["household_pid"]
        )
        con.executemany(
            "INSERT INTO holdout_assignments (as_of, generation, household_pid, score_rank, "
            "in_margin, held_out, listed) VALUES ('2024-06', 'v0', ?, 1, false, false, true)",
            [(p,) for p in held[:35]],
        )
        section = list_working(con, "2025-07")
    assert section["effects"][0]["parts"] == {"held_households": 5, "held_crises": 0}
    assert shown(section)["effects"][0][3] == "*"
    assert shown(section)["effects"][3][3] != "*"  # every entrant's: 40 held out


# --- a visit's effect compared within each list's lottery ----------------------------------------
# Two lists. The first, risky (1 in 2 without a visit), holds out half its 400 entrants; the
# second, calm (1 in 10), holds out 360 of its 400 (a generation's salt holds the same
# households first, so a later list holds out most of its few newcomers). In each, half the
# offered accept, who accepts unrelated to risk, and a visit halves the risk: the true ratio is
# 0.5 in both. Pooled, the risky list's entrants are 200 of 240 offered but 200 of 560 held out:
# visited 26 / 240 = 0.108, not visited 52 / 240 = 0.217, held out 136 / 560 = 0.243, so the
# ratio is 0.108 / (0.243 - 0.217) = 4.1: a visit that halves crises would look harmful.
def _two_lists() -> pl.DataFrame:
    rows = []

    def add(as_of: str, held: bool, visited: bool, n: int, crises: int) -> None:
        for i in range(n):
            rows.append((f"{as_of}-{len(rows)}", as_of, held, visited, int(i < crises)))

    add("2024-01", True, False, 200, 100)  # risky list: held out
    add("2024-01", False, True, 100, 25)  # offered, visited (1 in 4)
    add("2024-01", False, False, 100, 50)  # offered, declined (1 in 2)
    add("2024-02", True, False, 360, 36)  # calm list: most held out
    add("2024-02", False, True, 20, 1)  # offered, visited (1 in 20)
    add("2024-02", False, False, 20, 2)  # offered, declined (1 in 10)
    return pl.DataFrame(
        rows, schema=["household_pid", "as_of", "held_out", "visited", "crisis"], orient="row"
    )


def test_a_visits_effect_is_compared_within_each_lists_lottery():
    rows = _two_lists()
    strata = rows["as_of"].to_numpy()
    got = _complier_of(rows, strata=strata)
    # each list: (25 / 200) / (100 / 200 - 50 / 200) = 0.5, and (1 / 40) / (36 / 360 - 2 / 40)
    assert got["ratio"] == pytest.approx(TRUE_RATIO)
    assert got["low"] < TRUE_RATIO < got["high"] < 1
    assert got["strata"] == 2 and got["strata_compared"] == 2
    # pooled over the lists, the risky list's offered weigh more: the visit looks harmful
    pooled = _complier_of(rows)
    assert pooled["ratio"] == pytest.approx((26 / 240) / (136 / 560 - 52 / 240))
    assert pooled["ratio"] > 4 and pooled["low"] > 1
    # the intent-to-treat beside it is the offer's Mantel-Haenszel ratio, as the report's
    offered, held = rows.filter(~pl.col("held_out")), rows.filter(pl.col("held_out"))
    assert got["itt_ratio"] == pytest.approx(lottery_ratio(offered, held)[0])
    assert got["itt_ratio"] == pytest.approx(0.75)
    # a list with nobody held out tells nothing: left out, its households still counted
    lone = pl.DataFrame(
        [("lone", "2024-03", False, True, 1)],
        schema=["household_pid", "as_of", "held_out", "visited", "crisis"],
        orient="row",
    )
    more = pl.concat([rows, lone])
    again = _complier_of(more, strata=more["as_of"].to_numpy())
    assert again["strata_compared"] == 2 and again["visited_households"] == 121
    assert again["ratio"] == pytest.approx(got["ratio"])
    # the report's row compares within each list too
    from hearth.modelling.evaluation.list_effect import _complier

    assert _complier(rows)["ratio"] == pytest.approx(TRUE_RATIO)


def test_the_interval_is_drawn_within_each_list_and_covers_the_truth():
    """The bootstrap resamples each list's offered and held out apart and combines each draw
    as the estimate: on 200 worlds drawn as `_two_lists` (half each list's offered accept, a
    visit halves the risk), its 95% interval covers 0.5 about 95 times in 100 (187 here)."""
    rng = np.random.default_rng(5)
    covered, worlds = 0, 200
    for w in range(worlds):
        held = np.r_[
            np.ones(200, bool), np.zeros(200, bool), np.ones(360, bool), np.zeros(40, bool)
        ]
        strata = np.r_[np.zeros(400, int), np.ones(400, int)]
        base = np.where(strata == 0, 0.5, 0.1)
        visited = ~held & (rng.random(800) < 0.5)
        crisis = rng.random(800) < base * np.where(visited, TRUE_RATIO, 1.0)
        got = complier_effect(
            crisis, np.ones(800), held, visited, strata=strata, resamples=400, seed=w
        )
        covered += got["low"] <= TRUE_RATIO <= got["high"]
    assert 0.90 <= covered / worlds <= 0.99
