"""Is the list working? (issue 26) on a small world whose answer is known: the lottery's
held-out and offered households, the visits landed through the interventions contract, and the
crises after the list. Counts, Wilson intervals, rate ratios with their interval, small numbers
suppressed in the card and the report."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import date

import numpy as np
import polars as pl
import pytest

from hearth.ingest.landing import Extract
from hearth.ingest.load import ingest_extract
from hearth.modelling.evaluation.list_effect import (
    card_lines,
    list_working,
    rate_ratio,
    shown,
    wilson,
)
from hearth.modelling.scoring.holdout_run import HoldoutSettings, decide_holdout
from hearth.publish.report.list_working import list_working_section
from hearth.quality.contracts import load_contract
from hearth.sources import SOURCES
from hearth.suppression import is_disclosive
from hearth.warehouse import connect

PIDS = [hashlib.sha256(f"home {i}".encode()).hexdigest() for i in range(1000)]
SCORED = pl.DataFrame({"household_pid": PIDS, "score": np.linspace(0.6, 0.001, len(PIDS))})
LIST = "2025-01"


def test_wilson_and_the_rate_ratio_by_hand():
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert wilson(0, 10)[0] == 0.0
    ratio, lo, hi = rate_ratio(20, 100, 40, 100)
    se = math.sqrt(1 / 20 - 1 / 100 + 1 / 40 - 1 / 100)
    assert ratio == pytest.approx(0.5)
    assert (lo, hi) == pytest.approx(
        (0.5 * math.exp(-1.959964 * se), 0.5 * math.exp(1.959964 * se))
    )
    assert math.isnan(rate_ratio(0, 10, 3, 10)[0])


@pytest.fixture
def world(hearth_home, tmp_path, monkeypatch):
    """200 households enter the lottery of the list scored in 2025-01 (margin: all within
    capacity), 40 held out. 100 of the offered are visited (fire 90 of them, health 10)."""
    monkeypatch.setenv("HEARTH_HOLDOUT_KEY", "a made-up hold-out key for tests")
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        d = decide_holdout(con, SCORED, LIST, "v1", 200, HoldoutSettings(0.2, "DPO", None))
        assert d.held_out == 40
        flags = con.sql(
            "SELECT household_pid, held_out FROM holdout_assignments WHERE in_margin"
        ).pl()
        held = sorted(flags.filter(pl.col("held_out"))["household_pid"])
        offered = sorted(flags.filter(~pl.col("held_out"))["household_pid"])
        visited = offered[:100]
        rows = [
            {
                "record_id": f"IV{i + 1:08d}",
                "household_pid": p,
                "offer_date": "2025-01-10",
                "agency": "fire" if i < 90 else "health",
                "team": None,
                "offer_type": "FIRE_SAFETY_VISIT" if i < 90 else "FALLS_REVIEW",
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
        r = ingest_extract(
            con, load_contract("interventions"), Extract("interventions", LIST, file)
        )
        assert r.status == "loaded" and r.rows_accepted == 100, r.message
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
    assert (visit["ratio"], visit["low"], visit["high"]) == rate_ratio(20, 100, 20, 40)
    assert visit["high"] < 1  # a visit halves the crisis rate here, beyond chance
    agency = {e["comparison"]: e for e in section["by_agency"]}
    assert (agency["fire"]["households"], agency["fire"]["crises"]) == (90, 14)
    assert (agency["health"]["households"], agency["health"]["crises"]) == (10, 6)
    assert [e["comparison"] for e in section["by_offer"]] == ["FALLS_REVIEW", "FIRE_SAFETY_VISIT"]


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
