"""benchmarks/feedback_features.py: the design `moved_on` (a visited household's counts as of
its first visit, time moving on to the window's date), as `visit_features.frozen_window` applies
it to a window."""

from __future__ import annotations

import polars as pl

from benchmarks.feedback_features import TimeMovesOn, time_moves_on
from hearth.features.catalogue import NO_EVENT_MONTHS
from hearth.modelling.training.visit_features import frozen_window
from tests.unit.modelling.test_visit_features import FRAME, _at, cap

# the windows and the features as of earlier months are test_visit_features's
VISITS = {"q": "2024-03", "r": "2024-03", "t": "2024-05"}


def moved(longest: int = 36, capped=lambda f: f) -> tuple[pl.DataFrame, object]:
    moves_on = TimeMovesOn(frozenset({"age"}), longest)
    return frozen_window(FRAME, "2024-12", VISITS, moves_on.at(_at([]), "2024-12"), capped)


def test_time_moves_on_from_the_visit_for_all_but_the_counts_of_records():
    out, frozen = moved()
    assert out.schema == FRAME.schema
    assert out.row(0) == FRAME.row(0) and out.row(3) == FRAME.row(3)  # not visited / no row
    # counts as of the visit; "months since" 9 months on (March to December); age as built
    assert out.row(1) == ("q", 4, 29, 50.0)
    assert out.row(2) == ("r", 6, 10, 60.0)
    assert out.row(4) == ("t", 7, 9, 80.0)  # May to December: 7 months on
    # the gate's rule (`Frozen.breaches`) holds the rows to the design: as of the visit breach it
    assert frozen.replaced == 3 and frozen.breaches(out) == 0
    assert frozen.breaches(frozen_window(FRAME, "2024-12", VISITS, _at([]))[0]) == 3
    assert moved(capped=cap)[0].row(1) == ("q", 4, 13, 50.0)  # capped after moving on


def test_a_record_that_leaves_the_longest_window_by_the_window_s_date_reads_none():
    assert moved(longest=29)[0].row(1) == ("q", 4, 29, 50.0)
    assert moved(longest=28)[0].row(1) == ("q", 4, NO_EVENT_MONTHS, 50.0)
    none = pl.DataFrame({"household_pid": ["q"], "crisis_months_since": [NO_EVENT_MONTHS]})
    moves_on = TimeMovesOn(frozenset(), 36)
    assert moves_on.apply(none, 1)["crisis_months_since"].to_list() == [NO_EVENT_MONTHS]


def test_time_moves_on_for_the_catalogue_keeps_the_make_up_and_the_area_as_built():
    moves_on = time_moves_on()
    assert moves_on.longest == 36
    assert {"residents", "oldest_age", "imd_decile", "ward_fire_records_12m"} <= moves_on.as_built
    assert "authority_police_records_12m" in moves_on.as_built
    # what counts the household's own records stays as of the visit
    own = {"fire_records_12m", "ae_fall_12m", "ae_fall_trend", "ae_fall_months_since"}
    assert not own & moves_on.as_built
    assert not {"agencies_involved_12m", "uncertain_share_12m"} & moves_on.as_built
