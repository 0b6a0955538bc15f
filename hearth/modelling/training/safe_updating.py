"""Safe updating (issue 26): a model is retrained only on outcomes the list did not change.

If the visits work, the households a list reached have fewer crises, and a model retrained on
them learns that their features mean lower risk, so next year's list drops exactly the
households that needed the visit (Liley et al.). The rule Hearth applies to every training run:

- a household's outcomes in a window are *changed by the list* when, from `LOOKBACK_MONTHS`
  before the window opens to its end, it was listed by a published list (and not held out:
  `holdout_assignments`) or was offered help from a list (`interventions`, from_list Y);
- training (features at T-24, crises to T-12) and validation (T-12, crises to T) use only the
  other households: those never listed, and those held out by the lottery
  (hearth/modelling/holdout.py), whose outcomes are what would have happened without a visit;
- each held-out household is weighted by 1 / the chance it had of being held out (its list's
  held-out count over the lottery's entrants), so it stands in for the entrants the list did
  change: leaving the listed out alone removes the top of the risk distribution, and a model
  trained on the rest ranks the top worse (benchmarks/feedback.py measured 0.04 of the ratio to
  the oracle lost from one list of 1% left out). The weight is applied as whole copies of the
  household's row (`round(1 / chance)`), so every fit and calibration downstream sees it
  without a weight argument; a hold-out drawn only at the capacity margin stands in only for
  the margin, and the top of the list stays unseen (docs/data-protection.md: the trade-off);
- the gate (hearth/modelling/evaluation/gate.py, `list_refusal`) refuses a candidate whose
  training outcomes include a changed household: Hearth does not yet model the intervention
  itself, so leaving such outcomes in is never safe.

Before any list was acted on nothing is changed and nothing is dropped. A lookback because a
visit's effect lasts: a household visited a year before the window may still be safer in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import polars as pl

from hearth.months import add_months, month_start
from hearth.sources import INTERVENTION_SOURCES, SOURCES
from hearth.warehouse import query, query_source

LOOKBACK_MONTHS = 12
RULE = (
    "Trained and validated only on outcomes the list did not change: households a published "
    "list named (and did not hold out) or that were offered help from a list, from "
    f"{LOOKBACK_MONTHS} months before each window to its end, are left out; households never "
    "listed and those held out by the lottery are kept, and in training each held-out "
    "household counts 1 / its chance of being held out (rounded to whole copies), standing in "
    "for the lottery's entrants the list changed."
)


def _rows(con: duckdb.DuckDBPyConnection, name: str, params: dict, source=None) -> list[tuple]:
    """A query's rows, or none when its table does not exist yet (a warehouse that never drew a
    hold-out, opened read only)."""
    try:
        rel = query_source(con, name, source, params) if source else query(con, name, params)
        return rel.fetchall()
    except duckdb.CatalogException:
        return []


def changed_by_list(con: duckdb.DuckDBPyConnection, as_of: str, end: str) -> set[str]:
    """The households whose outcomes between `as_of` and `end` (months) a list may have changed."""
    start = add_months(as_of, -LOOKBACK_MONTHS)
    out = {
        r[0]
        for r in _rows(
            con, "modelling/changed_by_list_listed", {"start_month": start, "end_month": end}
        )
    }
    for name in INTERVENTION_SOURCES:
        params = {"start": month_start(start), "end": month_start(end)}
        out |= {r[0] for r in _rows(con, "modelling/changed_by_list", params, SOURCES[name])}
    return out


def held_out_between(con: duckdb.DuckDBPyConnection, as_of: str, end: str) -> set[str]:
    """The households held out of the lists scored between `as_of` and `end`."""
    params = {"start_month": add_months(as_of, -LOOKBACK_MONTHS), "end_month": end}
    return {r[0] for r in _rows(con, "modelling/held_out_between", params)}


def held_out_chances(con: duckdb.DuckDBPyConnection, as_of: str, end: str) -> dict[str, float]:
    """Each household held out of the lists scored between `as_of` (less the lookback) and
    `end`, with its chance of being held out at its first draw there (held out / entrants)."""
    params = {"start_month": add_months(as_of, -LOOKBACK_MONTHS), "end_month": end}
    return {r[0]: float(r[1]) for r in _rows(con, "modelling/held_out_chances", params)}


def holdout_copies(pids: np.ndarray, chances: dict[str, float]) -> np.ndarray:
    """How many times each household's row enters training: round(1 / chance) for a held-out
    household (at least 1), 1 for any other."""
    if not chances:
        return np.ones(len(pids), dtype=np.int64)
    chance = np.array([chances.get(p, 1.0) for p in pids], dtype=float)
    if (chance <= 0).any() or (chance > 1).any():
        raise ValueError("a hold-out chance must be above 0 and at most 1.")
    return np.maximum(1, np.rint(1.0 / chance)).astype(np.int64)


@dataclass
class SafeUpdating:
    """What the rule did to one training run, for the gate and the model card."""

    train_changed: set[str] = field(default_factory=set)
    valid_changed: set[str] = field(default_factory=set)
    train_held_out: int = 0
    train_held_out_crises: int = 0
    lists: int = 0  # hold-out decisions kept for the lists in the training window
    min_share: float | None = None
    margin_lists: int = 0  # of them, drawn at the capacity margin only
    excluded_train: int = 0
    excluded_valid: int = 0
    train_added_copies: int = 0  # rows added by weighting the held-out (training window)

    def count_held_out(self, window, held: set[str]) -> None:
        """How many of a training window's households were held out, and their crises."""
        mask = window.frame["household_pid"].is_in(list(held)).to_numpy()
        self.train_held_out = int(mask.sum())
        self.train_held_out_crises = int(np.asarray(window.y)[mask].sum())

    @property
    def acted_on(self) -> bool:
        return bool(self.train_changed or self.valid_changed)

    @property
    def safe(self) -> bool:
        """Whether the model can be safely retrained: no list acted on yet, or a hold-out kept."""
        return not self.acted_on or self.train_held_out > 0

    def summary(self) -> dict[str, object]:
        """For the model card (`hearth/modelling/evaluation/card.py`: "Safe updating")."""
        return {
            "rule": RULE,
            "lists_with_holdout_decision": self.lists,
            "smallest_share": self.min_share,
            "lists_drawn_at_margin_only": self.margin_lists,
            "margin_note": (
                f"{self.margin_lists} of the lists in its years drew the hold-out at the "
                "capacity margin only: their held-out households stand in for the margin, not "
                "for the top of the list, whose outcomes training does not see "
                "(`HEARTH_HOLDOUT_MARGIN=all` draws among the whole list)."
                if self.margin_lists
                else None
            ),
            "excluded_training_households": self.excluded_train,
            "excluded_validation_households": self.excluded_valid,
            "held_out_households": self.train_held_out,
            "held_out_crises": self.train_held_out_crises,
            "held_out_added_copies": self.train_added_copies,
            "safe": self.safe,
        }


def safe_updating(
    con: duckdb.DuckDBPyConnection, train_as_of: str, valid_as_of: str, score_as_of: str
) -> SafeUpdating:
    """The households the list changed in the training and validation windows, and the hold-out
    kept in the training window."""
    out = SafeUpdating(
        train_changed=changed_by_list(con, train_as_of, valid_as_of),
        valid_changed=changed_by_list(con, valid_as_of, score_as_of),
    )
    params = {"start_month": add_months(train_as_of, -LOOKBACK_MONTHS), "end_month": valid_as_of}
    rows = _rows(con, "modelling/holdout_shares_between", params)
    if rows and rows[0][0]:
        out.lists, out.min_share = int(rows[0][0]), float(rows[0][1])
        out.margin_lists = int(rows[0][3])
    return out


def restrict(window, changed: set[str]) -> tuple[object, int]:
    """A labelled window (hearth/modelling/training/selection.py Window) without the households
    the list changed, and how many were left out; the same window when there are none."""
    if not changed:
        return window, 0
    keep = ~window.frame["household_pid"].is_in(list(changed)).to_numpy()
    kept = replace(window, frame=window.frame.filter(pl.Series(keep)), y=window.y[keep])
    return kept, int((~keep).sum())


def reweight(window, chances: dict[str, float]) -> tuple[object, int]:
    """A labelled window with each held-out household's row repeated `holdout_copies` times
    (the copies next to each other), and how many rows were added; the same window when no
    held-out household is in it. Call after `restrict`: a changed household has no weight."""
    copies = holdout_copies(window.frame["household_pid"].to_numpy(), chances)
    added = int(copies.sum() - copies.size)
    if not added:
        return window, 0
    rows = np.repeat(np.arange(copies.size), copies)
    frame = window.frame[rows]
    return replace(window, frame=frame, y=np.asarray(window.y)[rows]), added


def without(frame: pl.DataFrame, changed: set[str]) -> pl.DataFrame:
    """A features frame without the households the list changed."""
    return frame.filter(~pl.col("household_pid").is_in(list(changed))) if changed else frame
