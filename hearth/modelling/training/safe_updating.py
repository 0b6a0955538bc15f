"""Safe updating (issue 26): a model learns each household's risk, not the help a list gave it.

If the visits work, the households a list reached have fewer crises, and a model retrained on
them learns that their features mean lower risk, so next year's list drops exactly the
households that needed the visit (Liley et al.). The rule Hearth applies to every training run:

- a household's outcomes in a window are *changed by the list* from the first month, from
  `LOOKBACK_MONTHS` before the window opens to its end, it was listed by a published list (and
  not held out: `holdout_assignments`) or was offered help from a list (`interventions`,
  from_list Y): its *first listing*;
- **when a hold-out lottery was drawn** (a list held someone out), what an offer does is read
  from it (`offer_ratio`: the crisis rate of the households it offered help over those it held
  out, where a keyed draw decided which, hearth/modelling/evaluation/list_effect.py, weighed
  against a prior of no effect, `shrunk_ratio`: 1 until a lottery's list is old enough to
  judge, the lottery's own ratio as its crises grow), every household is kept and each crisis of a
  changed household counts 1 / (1 + (ratio - 1) f) times, f its share of the window after its
  first listing (the whole window when listed before it opened: households at the top stay
  listed) (`Correction`, `corrected_copies`): in expectation, the crises it would have had
  without the offer. Censoring throws away the top of the risk distribution: on the closed
  loop it cost as much ranking when visits did nothing as naive retraining lost when they
  worked (docs/performance.md);
- **without a lottery** (every list so far held nobody out: a share of 0), *censoring*: a
  household first listed before the window opens is left out of it (a visit's effect lasts); one
  first listed inside it is censored at that month, not left out: leaving it out would select on
  the outcome itself, since a crisis early in the window raises the score that lists the
  household. A crisis before its first listing is one the list did not change, so the household
  is kept with that crisis (label 1); with no crisis before it, it counts as a household without
  a crisis observed for the share of the window before its first listing (months observed / 12),
  not as a full year without one (`censoring`, `censor`); households never listed, and those
  held out by the lottery (hearth/modelling/holdout.py), are kept whole; each held-out household
  is weighted by 1 / the chance it had of being held out (its list's held-out count over the
  lottery's entrants), so it stands in for the entrants the list changed (a hold-out drawn only
  at the capacity margin stands in only for the margin: docs/data-protection.md);
- weights are whole copies of a household's row, and a fractional weight is a keyed draw on the
  pseudonym that keeps a copy with that chance (the same households every run), so every fit
  and calibration downstream sees them without a weight argument;
- a household visited from a list (an offer accepted and completed) in the `LOOKBACK_MONTHS`
  before a window's date enters it with its features as of the month of its first such visit
  (hearth/modelling/training/visit_features.py): the visit took crises out of its history
  after it, which no label rule reaches (`frozen_windows`);
- training (features at T-24, crises to T-12) and validation (T-12, crises to T; the refit that
  scores at T trains on it) both follow the rule; the gate
  (hearth/modelling/evaluation/gate.py, `list_refusal`) refuses a candidate whose training
  outcomes include one the list changed, counted as it was (`Correction.breaches`,
  `Censoring.breaches`), or whose visited households' features are not their frozen rows
  (`Frozen.breaches`, `gate.features_refusal`).

benchmarks/feedback.py measured the rule's steps (docs/performance.md, "The closed loop").
Before any list was acted on nothing is changed and nothing is dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import duckdb
import numpy as np
import polars as pl

from hearth.features.design import cap_recency
from hearth.modelling.training.censoring import (
    LOOKBACK_MONTHS,
    RULE,
    Censored,
    Censoring,
    censor,
    query_rows,
    window_censoring,
)
from hearth.modelling.training.offer_correction import (
    Correction,
    OfferEvidence,
    correct,
    corrected_rule,
    offer_evidence,
)
from hearth.modelling.training.visit_features import (
    RULE_FEATURES,
    FeaturesAt,
    Frozen,
    features_then,
    first_visits,
    frozen_window,
)
from hearth.months import add_months


def held_out_between(con: duckdb.DuckDBPyConnection, as_of: str, end: str) -> set[str]:
    """The households held out of the lists scored between `as_of` and `end`."""
    params = {"start_month": add_months(as_of, -LOOKBACK_MONTHS), "end_month": end}
    return {r[0] for r in query_rows(con, "modelling/held_out_between", params)}


def held_out_chances(con: duckdb.DuckDBPyConnection, as_of: str, end: str) -> dict[str, float]:
    """Each household held out of the lists scored between `as_of` (less the lookback) and
    `end`, with its chance of being held out at its first draw there (held out / entrants)."""
    params = {"start_month": add_months(as_of, -LOOKBACK_MONTHS), "end_month": end}
    return {r[0]: float(r[1]) for r in query_rows(con, "modelling/held_out_chances", params)}


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

    train_rule: Censoring = field(default_factory=lambda: Censoring(""))
    valid_rule: Censoring = field(default_factory=lambda: Censoring(""))
    train_censored: Censored = field(default_factory=Censored)
    valid_censored: Censored = field(default_factory=Censored)
    train_held_out: int = 0
    train_held_out_crises: int = 0
    lists: int = 0  # hold-out decisions kept for the lists in the training window
    min_share: float | None = None
    margin_lists: int = 0  # of them, drawn at the capacity margin only
    excluded_train: int = 0
    excluded_valid: int = 0
    train_added_copies: int = 0  # rows added by weighting the held-out (training window)
    ratio: float | None = None  # the offer ratio the correction uses; None without a lottery
    evidence: OfferEvidence | None = None  # the lottery's counts behind it
    train_correction: Correction | None = None  # the corrected rule, once the ratio is told
    valid_correction: Correction | None = None
    train_corrected: int = 0  # changed households whose crisis counted other than once
    valid_corrected: int = 0
    # visited households whose features are as of their first visit (visit_features.py)
    train_frozen: Frozen = field(default_factory=lambda: Frozen(""))
    valid_frozen: Frozen = field(default_factory=lambda: Frozen(""))

    def count_held_out(self, window, held: set[str]) -> None:
        """How many of a training window's households were held out, and their crises."""
        mask = window.frame["household_pid"].is_in(list(held)).to_numpy()
        self.train_held_out = int(mask.sum())
        self.train_held_out_crises = int(np.asarray(window.y)[mask].sum())

    @property
    def train_changed(self) -> set[str]:
        return self.train_rule.changed

    @property
    def valid_changed(self) -> set[str]:
        return self.valid_rule.changed

    @property
    def corrected(self) -> bool:
        """Whether the corrected rule applies: a list was acted on and a lottery was drawn
        (`RULE_CORRECTED`); otherwise the censoring rule (`RULE`)."""
        return self.acted_on and self.train_correction is not None

    @property
    def guard(self) -> Censoring | Correction:
        """The training window's rule, for the gate (`gate.list_refusal`)."""
        return self.train_correction if self.corrected else self.train_rule

    def frozen_windows(self, con: duckdb.DuckDBPyConnection, w, at: FeaturesAt | None = None):
        """The windows (selection.Windows) with each visited household's features as of its
        first visit from a list (`visit_features.frozen_window`; `at` reads them, by default
        the kept feature sets or built again): the training window's and the validation
        date's, capped and uncapped alike. Call before `apply`."""
        at = at or features_then(con)
        train, self.train_frozen = frozen_window(
            w.train.frame,
            w.train.as_of,
            first_visits(con, w.train.as_of),
            at,
            lambda f: cap_recency(f, w.cap),
        )
        raw_valid, self.valid_frozen = frozen_window(
            w.raw_valid, w.valid.as_of, first_visits(con, w.valid.as_of), at
        )
        valid = w.valid
        if self.valid_frozen.replaced:  # the capped validation window from the same rows
            valid = replace(valid, frame=cap_recency(raw_valid, w.cap))
        return replace(w, train=replace(w.train, frame=train), valid=valid, raw_valid=raw_valid)

    def apply(self, train, valid) -> tuple[object, object, np.ndarray]:
        """The training and validation windows under the rule (`correct` once the lottery
        told the ratio, else `censor`), and the validation rows taken, in order (to take the
        validation date's uncapped features alike)."""
        if self.corrected:
            train, _, self.train_corrected = correct(train, self.train_correction)
            valid, rows, self.valid_corrected = correct(valid, self.valid_correction)
            return train, valid, rows
        train, _, self.train_censored = censor(train, self.train_rule)
        valid, keep, self.valid_censored = censor(valid, self.valid_rule)
        self.excluded_train = self.train_censored.left_out
        self.excluded_valid = self.valid_censored.left_out
        return train, valid, np.flatnonzero(keep)

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
            "rule": (self.guard.text if self.corrected else RULE) + RULE_FEATURES,
            "mode": "corrected" if self.corrected else "censored",
            "offer_ratio": self.ratio,
            "offer_evidence": (
                {**asdict(self.evidence), "raw_ratio": self.evidence.raw}
                if self.evidence is not None
                else None
            ),
            "corrected_households": {
                "training": self.train_corrected,
                "validation": self.valid_corrected,
            },
            "changed_households": {
                "training": len(self.train_changed),
                "validation": len(self.valid_changed),
            },
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
            "censored": {
                "training": asdict(self.train_censored),
                "validation": asdict(self.valid_censored),
            },
            "frozen_features": {
                "training": self.train_frozen.replaced,
                "validation": self.valid_frozen.replaced,
            },
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
        train_rule=window_censoring(con, train_as_of, valid_as_of),
        valid_rule=window_censoring(con, valid_as_of, score_as_of),
    )
    params = {"start_month": add_months(train_as_of, -LOOKBACK_MONTHS), "end_month": valid_as_of}
    rows = query_rows(con, "modelling/holdout_shares_between", params)
    if rows and rows[0][0]:
        out.lists, out.min_share = int(rows[0][0]), float(rows[0][1])
        out.margin_lists = int(rows[0][3])
    if out.acted_on:
        out.evidence = offer_evidence(con, score_as_of)
        out.ratio = None if out.evidence is None else out.evidence.ratio
    if out.ratio is not None:
        out.train_correction = corrected_rule(con, train_as_of, valid_as_of, out.ratio)
        out.valid_correction = corrected_rule(con, valid_as_of, score_as_of, out.ratio)
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
