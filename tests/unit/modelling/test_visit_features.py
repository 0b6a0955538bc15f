"""Safe updating's training features (issue 26): a household visited from a list (an offer
accepted and completed) in the year before a window's date enters it with its features as of
the month of its first visit, read from the interventions extract landed through the ingest;
the gate refuses a window whose visited households' features are not those; the card says how
many. A real DuckDB file for the visits; the windows are small frames."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from hearth.ingest.landing import Extract
from hearth.ingest.load import ingest_extract
from hearth.modelling.evaluation.gate import features_refusal
from hearth.modelling.evaluation.updating_lines import safe_updating_lines
from hearth.modelling.training.safe_updating import SafeUpdating
from hearth.modelling.training.selection import Window, Windows
from hearth.modelling.training.visit_features import (
    Frozen,
    features_then,
    first_visits,
    frozen_window,
)
from hearth.quality.contracts import load_contract
from hearth.sources import SOURCES
from hearth.warehouse import connect


def H(name: str) -> str:
    """A household pseudonym (the ingest quarantines any other form)."""
    return hashlib.sha256(f"house {name}".encode()).hexdigest()


def named(visits: dict[str, str]) -> dict[str, str]:
    return {H(k): v for k, v in visits.items()}


# (household, offer date, from a list, response, completed date)
OFFERS = {
    "2024-05": [
        ("a", "2024-05-01", "Y", "ACCEPTED", "2024-05-01"),  # first day: the lookback's start
        ("b", "2024-05-03", "Y", "DECLINED", None),
        ("c", "2024-05-04", "N", "ACCEPTED", "2024-05-06"),  # not from a list
        ("d", "2024-05-05", "Y", "ACCEPTED", None),  # accepted, not completed
        ("e", "2024-05-20", "Y", "ACCEPTED", "2024-05-31"),
    ],
    "2024-07": [
        ("a", "2024-07-02", "Y", "ACCEPTED", "2024-07-10"),  # visited again
        ("f", "2024-07-01", "Y", "ACCEPTED", "2024-07-01"),  # first day: a window's end
    ],
}


def _row(i: int, pid: str, offered: str, from_list: str, response: str, done: str | None):
    row = dict.fromkeys(SOURCES["interventions"].columns)
    row |= {
        "record_id": f"IV{i:08d}",
        "household_pid": H(pid),
        "offer_date": offered,
        "agency": SOURCES["interventions"].codes["agency"][0],
        "offer_type": "WELLBEING_VISIT",
        "from_list": from_list,
        "list_generation": "v1" if from_list == "Y" else None,
        "list_rank": "1" if from_list == "Y" else None,
        "response": response,
        "completed_date": done,
    }
    return row


@pytest.fixture
def visits_warehouse(hearth_home, tmp_path):
    path, i = tmp_path / "w.duckdb", 0
    with connect(path) as con:
        for month, rows in OFFERS.items():
            frame = [_row(i + k, *r) for k, r in enumerate(rows)]
            i += len(rows)
            cols = SOURCES["interventions"].columns
            df = pl.DataFrame(frame, schema={c: pl.String for c in cols})
            file = tmp_path / "landing" / "interventions" / month / f"interventions_{month}.csv"
            file.parent.mkdir(parents=True)
            df.write_csv(file)
            extract = Extract("interventions", month, file)
            r = ingest_extract(con, load_contract("interventions"), extract)
            assert r.status == "loaded" and r.rows_quarantined == 0, r.message
    return path


def test_a_visit_is_an_accepted_completed_offer_from_a_list_in_the_year_before(visits_warehouse):
    with connect(visits_warehouse) as con:
        # the year 2024-05 to 2025-04: a's first visit (on the year's first day) and e's;
        # not b (declined), c (not from a list), d (never completed)
        assert first_visits(con, "2025-05") == named(
            {"a": "2024-05", "e": "2024-05", "f": "2024-07"}
        )
        # a year later a's May visit is outside it: its first visit there is July's
        assert first_visits(con, "2025-06") == named({"a": "2024-07", "f": "2024-07"})
        # before the date only: f, visited on 2024-07-01, is not before 2024-07
        assert first_visits(con, "2024-07") == named({"a": "2024-05", "e": "2024-05"})
        assert first_visits(con, "2024-05") == {}


FRAME = pl.DataFrame(
    {
        "household_pid": ["p", "q", "r", "s", "t"],
        "crises_12m": [5, 0, 1, 2, 3],
        "crisis_months_since": [1, 30, 2, 3, 4],
        "age": [40.0, 50.0, 60.0, 70.0, 80.0],
    }
)
# the features as of earlier months (more crises: before the visit took them away)
THEN = {
    "2024-03": pl.DataFrame(
        {
            "household_pid": ["q", "r", "x"],
            "crises_12m": [4, 6, 9],
            "crisis_months_since": [20, 1, 1],
            "age": [49.0, None, 1.0],  # not known then: unknown, not today's
        }
    ),
    "2024-05": pl.DataFrame(  # one feature not yet built then (too little history)
        {"household_pid": ["t"], "crises_12m": [7], "crisis_months_since": [2]}
    ),
}


def _at(asked: list):
    def at(month, pids):
        asked.append((month, sorted(pids)))
        return THEN.get(month, THEN["2024-03"].head(0))

    return at


def cap(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("crisis_months_since").clip(upper_bound=13))


def test_a_visited_household_enters_the_window_with_its_features_as_of_its_first_visit():
    asked: list = []
    visits = {"q": "2024-03", "r": "2024-03", "t": "2024-05", "s": "2024-04", "gone": "2024-03"}
    out, frozen = frozen_window(FRAME, "2024-12", visits, _at(asked), cap)
    assert out["household_pid"].to_list() == ["p", "q", "r", "s", "t"]  # the window's order
    assert out.schema == FRAME.schema
    assert out.row(0) == FRAME.row(0)  # never visited: as built
    assert out.row(1) == ("q", 4, 13, 49.0)  # as of its visit, "months since" capped alike
    assert out.row(2) == ("r", 6, 1, None)
    assert out.row(3) == FRAME.row(3)  # no row then (moved in later): its own
    assert out.row(4) == ("t", 7, 2, 80.0)  # a feature not built then keeps the window's
    assert frozen.replaced == 3 and frozen.as_of == "2024-12" and frozen.visits == visits
    # each month asked once, for its visited households in the window only
    assert asked == [("2024-03", ["q", "r"]), ("2024-04", ["s"]), ("2024-05", ["t"])]
    assert frozen_window(FRAME, "2024-12", {}, _at([]), cap)[0] is FRAME


def test_the_gate_refuses_a_visited_household_trained_on_its_history_after_the_visit():
    visits = {"q": "2024-03", "r": "2024-03"}
    out, frozen = frozen_window(FRAME, "2024-12", visits, _at([]), cap)
    assert frozen.breaches(out) == 0
    assert frozen.breaches(out[[0, 1, 1, 2, 2, 2, 3]]) == 0  # rows repeated as training does
    assert features_refusal(out, frozen, "2025-12") is None
    assert frozen.breaches(FRAME) == 2  # as built: both show the visit
    changed = out.with_columns(
        pl.when(pl.col("household_pid") == "q").then(60.5).otherwise(pl.col("age")).alias("age")
    )
    assert frozen.breaches(changed) == 1  # one feature of one household is enough
    assert features_refusal(changed, frozen, "2025-12").metadata["changed_households"] == 1
    other = out.with_columns(pl.lit(0).alias("crises_12m").cast(pl.Int64)).filter(
        pl.col("household_pid") == "p"
    )
    assert frozen.breaches(pl.concat([out.filter(pl.col("household_pid") != "p"), other])) == 0
    refusal = features_refusal(FRAME, frozen, "2025-12")
    assert refusal.rule == "changed_by_list" and "2 of the households" in refusal.sentence
    assert "as they were in the month of its first such visit" in refusal.sentence  # the rule
    assert refusal.metadata == {"changed_households": 2, "train_as_of": "2024-12"}
    assert features_refusal(FRAME, Frozen("2024-12"), "2025-12") is None  # nobody visited


def test_the_windows_and_the_card_follow_the_rule(visits_warehouse):
    # training and validation dates of a run's windows (not 12 months apart here: the visits
    # of the fixture fall in the year before each)
    design = SimpleNamespace(train_as_of="2024-07", valid_as_of="2025-05")
    pids = [H(x) for x in "aefz"]
    frame = pl.DataFrame(
        {"household_pid": pids, "crises_12m": [0, 0, 0, 3], "crisis_months_since": [40] * 4}
    )
    w = Windows(
        train=Window(design.train_as_of, cap(frame), np.zeros(4, dtype=int)),
        valid=Window(design.valid_as_of, cap(frame), np.zeros(4, dtype=int)),
        raw_valid=frame,
        history=12,
        latest_history=24,
    )
    then = frame.with_columns(
        pl.lit(8).alias("crises_12m"), pl.lit(30).alias("crisis_months_since")
    )
    su = SafeUpdating()
    with connect(visits_warehouse) as con:
        out = su.frozen_windows(
            con, w, lambda month, p: then.filter(pl.col("household_pid").is_in(p))
        )
    # training at 2024-07: a and e visited in May; f on 2024-07-01, not before the date
    assert out.train.frame["crises_12m"].to_list() == [8, 8, 0, 3]
    assert out.train.frame["crisis_months_since"].to_list() == [13, 13, 13, 13]  # capped (12)
    # validation at 2025-05: a, e and f; the uncapped frame kept for the refit, and capped
    assert out.raw_valid["crises_12m"].to_list() == [8, 8, 8, 3]
    assert out.raw_valid["crisis_months_since"].to_list() == [30, 30, 30, 40]
    assert out.valid.frame["crisis_months_since"].to_list() == [13] * 4
    assert out.valid.frame["crises_12m"].to_list() == [8, 8, 8, 3]
    assert su.train_frozen.replaced == 2 and su.valid_frozen.replaced == 3
    assert su.train_frozen.breaches(out.train.frame) == 0
    assert su.train_frozen.breaches(w.train.frame) == 2
    summary = su.summary()
    assert summary["frozen_features"] == {"training": 2, "validation": 3}
    assert "as they were in the month of its first such visit" in summary["rule"]
    text = "\n".join(safe_updating_lines(SimpleNamespace(safe_updating=summary)))
    assert "Features as before the visit: 2 training and 3 validation households" in text
    su.train_frozen = Frozen("2024-07")  # none in training: the validation's still said
    text = "\n".join(safe_updating_lines(SimpleNamespace(safe_updating=su.summary())))
    assert "Features as before the visit: 0 training and 3 validation households" in text
    assert "Features as before the visit" not in "\n".join(
        safe_updating_lines(SimpleNamespace(safe_updating=SafeUpdating().summary()))
    )


def test_the_features_then_are_the_set_kept_for_the_month_else_built(visits_warehouse, monkeypatch):
    import hearth.features.build as build

    folder = visits_warehouse.parent / "features"
    folder.mkdir()
    kept = FRAME.with_columns(pl.lit("2024-03").alias("as_of"))
    kept.write_parquet(folder / "features_2024-03.parquet")
    built: list[str] = []

    def rebuilt(con, month):
        built.append(month)
        return FRAME.with_columns(pl.lit(99).alias("crises_12m"))

    monkeypatch.setattr(build, "build_features", rebuilt)
    with connect(visits_warehouse) as con:
        at = features_then(con)
        then = at("2024-03", ["q", "s"])
        assert (
            then.sort("household_pid").rows()
            == FRAME.filter(pl.col("household_pid").is_in(["q", "s"])).rows()
        )
        assert built == []  # kept: not built again
        again = at("2024-04", ["r"])
    assert built == ["2024-04"] and again.rows() == [("r", 99, 2, 60.0)]
