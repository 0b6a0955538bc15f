"""Safe updating (issue 26): a model learns each household's risk, not the help a list gave it.

If the visits work, the households a list reached have fewer crises, and a model retrained on
them learns that their features mean lower risk, so next year's list drops exactly the
households that needed the visit (Liley et al.). The rule Hearth applies to every training run:

- a household's outcomes in a window are *changed by the list* from the first month, from
  `LOOKBACK_MONTHS` before the window opens to its end, it was listed by a published list (and
  not held out: `holdout_assignments`) or was offered help from a list (`interventions`,
  from_list Y): its *first listing*;
- **once the hold-out lottery tells what an offer does** (`offer_ratio`: the crisis rate of
  the households it offered help over those it held out, where a keyed draw decided which,
  hearth/modelling/evaluation/list_effect.py), every household is kept and each crisis of a
  changed household counts 1 / (1 + (ratio - 1) f) times, f its share of the window after its
  first listing (the whole window when listed before it opened: households at the top stay
  listed) (`Correction`, `corrected_copies`): in expectation, the crises it would have had
  without the offer. Censoring throws away the top of the risk distribution: on the closed
  loop it cost as much ranking when visits did nothing as naive retraining lost when they
  worked (docs/performance.md);
- **until then** (the lottery's first months, or a share of 0), *censoring*: a household first
  listed before the window opens is left out of it (a visit's effect lasts); one first listed
  inside it is censored at that month, not left out: leaving it out would select on the outcome
  itself, since a crisis early in the window raises the score that lists the household. A
  crisis before its first listing is one the list did not change, so the household is kept
  with that crisis (label 1); with no crisis before it, it counts as a household without a
  crisis observed for the share of the window before its first listing (months observed / 12),
  not as a full year without one (`censoring`, `censor`); households never listed, and those
  held out by the lottery (hearth/modelling/holdout.py), are kept whole; each held-out household
  is weighted by 1 / the chance it had of being held out (its list's held-out count over the
  lottery's entrants), so it stands in for the entrants the list changed (a hold-out drawn only
  at the capacity margin stands in only for the margin: docs/data-protection.md);
- weights are whole copies of a household's row, and a fractional weight is a keyed draw on the
  pseudonym that keeps a copy with that chance (the same households every run), so every fit
  and calibration downstream sees them without a weight argument;
- training (features at T-24, crises to T-12) and validation (T-12, crises to T; the refit that
  scores at T trains on it) both follow the rule; the gate
  (hearth/modelling/evaluation/gate.py, `list_refusal`) refuses a candidate whose training
  outcomes include one the list changed, counted as it was (`Correction.breaches`,
  `Censoring.breaches`).

benchmarks/feedback.py measured the rule's steps (docs/performance.md, "The closed loop").
Before any list was acted on nothing is changed and nothing is dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace

import duckdb
import numpy as np
import polars as pl

from hearth.features.build import as_of_params
from hearth.months import add_months, month_start, months_between
from hearth.sources import INTERVENTION_SOURCES, SOURCES
from hearth.warehouse import query, query_source

LOOKBACK_MONTHS = 12
LABEL_MONTHS = 12  # a label window's length (sql/features/labels.sql)
RATIO_BOUNDS = (0.5, 2.0)  # the offer ratio a correction trusts (`offer_ratio`)
RULE = (
    "Trained and validated only on outcomes the list did not change. A household a published "
    "list named (and did not hold out) or that was offered help from a list is followed only "
    "until its first listing: listed before a window opens (up to "
    f"{LOOKBACK_MONTHS} months before), it is left out of that window; first listed inside it, "
    "a crisis before that listing is kept, and with none it counts as crisis-free only for the "
    "share of the year before its listing, not the whole year. Households never listed and "
    "those held out by the lottery are kept whole, and in training each held-out household "
    "counts 1 / its chance of being held out (rounded to whole copies), standing in for the "
    "lottery's entrants the list changed."
)
RULE_CORRECTED = (
    "Trained and validated on every household, with the crises a list's offer changed counted "
    "as they would have been without it. The hold-out lottery tells what an offer does: the "
    "crisis rate of the households it offered help against those it held out, where a keyed "
    "draw, not the score, decided which (the ratio, kept between "
    f"{RATIO_BOUNDS[0]} and {RATIO_BOUNDS[1]}). A household a published list named (and did not "
    "hold out) or that was offered help from a list, up to "
    f"{LOOKBACK_MONTHS} months before a window opens, has each crisis in that window counted "
    "1 / (1 + (ratio - 1) x the share of the window after its first listing) times (whole "
    "copies, the fraction by a keyed draw), so the model learns the household's risk, not the "
    "help it was given, and keeps the households most at risk in training. Until the lottery "
    "can tell the ratio, the censoring rule applies: "
)


def _rows(con: duckdb.DuckDBPyConnection, name: str, params: dict, source=None) -> list[tuple]:
    """A query's rows, or none when its table does not exist yet (a warehouse that never drew a
    hold-out, opened read only)."""
    try:
        rel = query_source(con, name, source, params) if source else query(con, name, params)
        return rel.fetchall()
    except duckdb.CatalogException:
        return []


def first_listed(con: duckdb.DuckDBPyConnection, as_of: str, end: str) -> dict[str, str]:
    """Each household whose outcomes between `as_of` and `end` (months) a list may have changed,
    with its first listing: the first month from `LOOKBACK_MONTHS` before `as_of` a published
    list named it (not held out) or it was offered help from a list."""
    start = add_months(as_of, -LOOKBACK_MONTHS)
    rows = _rows(con, "modelling/changed_by_list_listed", {"start_month": start, "end_month": end})
    for name in INTERVENTION_SOURCES:
        params = {"start": month_start(start), "end": month_start(end)}
        rows += _rows(con, "modelling/changed_by_list", params, SOURCES[name])
    out: dict[str, str] = {}
    for pid, month in rows:
        out[pid] = min(month, out.get(pid, month))
    return out


def changed_by_list(con: duckdb.DuckDBPyConnection, as_of: str, end: str) -> set[str]:
    """The households whose outcomes between `as_of` and `end` (months) a list may have changed."""
    return set(first_listed(con, as_of, end))


def first_crises(con: duckdb.DuckDBPyConnection, as_of: str) -> dict[str, str]:
    """Each household's first crisis month in the label window of `as_of`: read from the labels'
    own query, so censoring and the labels can never count different crises."""
    rows = _rows(con, "features/labels", as_of_params(as_of))
    return {pid: first_month for pid, _crises, first_month in rows}


@dataclass(frozen=True)
class Censoring:
    """How one window's households the list changed enter it (the rule: module docstring)."""

    as_of: str
    left_out: frozenset[str] = frozenset()  # first listed before the window opened
    crisis_before: frozenset[str] = frozenset()  # first listed inside it, a crisis before: label 1
    observed: dict[str, float] = field(default_factory=dict)  # no crisis before: share observed

    @property
    def changed(self) -> set[str]:
        return set(self.left_out) | set(self.crisis_before) | set(self.observed)

    def labels(self, pids: np.ndarray, y: np.ndarray) -> np.ndarray:
        """A window's labels with each censored household's set to 0: no crisis observed
        before its first listing (its crisis, if any, came after the list)."""
        return np.where(np.isin(np.asarray(pids), list(self.observed)), 0, np.asarray(y))

    @property
    def text(self) -> str:
        return RULE

    def breaches(self, pids: np.ndarray, y: np.ndarray) -> int:
        """Rows of a labelled window whose outcome the list changed: a household left out, or a
        censored household labelled with a crisis (one after its first listing)."""
        pids, y = np.asarray(pids), np.asarray(y)
        out = np.isin(pids, np.fromiter(self.left_out, dtype=object, count=len(self.left_out)))
        censored = np.fromiter(self.observed, dtype=object, count=len(self.observed))
        out |= np.isin(pids, censored) & (y != 0)
        return int(out.sum())


def censoring(first_listing: dict[str, str], first_crisis: dict[str, str], as_of: str) -> Censoring:
    """The rule for the window opening at `as_of`, from each changed household's first listing
    and each household's first crisis in the window (months)."""
    left_out, before, observed = set(), set(), {}
    for pid, listed in first_listing.items():
        if listed < as_of:
            left_out.add(pid)
        elif pid in first_crisis and first_crisis[pid] < listed:
            before.add(pid)
        else:
            observed[pid] = min(1.0, months_between(as_of, listed) / LABEL_MONTHS)
    return Censoring(as_of, frozenset(left_out), frozenset(before), observed)


def window_censoring(con: duckdb.DuckDBPyConnection, as_of: str, end: str) -> Censoring:
    """The rule for the window from `as_of` to `end`, read from the warehouse."""
    first = first_listed(con, as_of, end)
    return censoring(first, first_crises(con, as_of) if first else {}, as_of)


def kept_by_share(pids: np.ndarray, share: np.ndarray, purpose: str) -> np.ndarray:
    """True for the rows kept when each is kept with its own chance `share`: a keyed draw on the
    pseudonym (the same households every run), so a share works as a weight in expectation."""
    salt = f"hearth-censoring:{purpose}:".encode()
    u = np.array(
        [int(hashlib.sha256(salt + str(p).encode()).hexdigest()[:8], 16) for p in pids], float
    )
    return u < np.asarray(share, dtype=float) * 2**32


@dataclass(frozen=True)
class Censored:
    """What `censor` did to one window."""

    left_out: int = 0  # rows of households first listed before the window
    crisis_before: int = 0  # kept with a crisis before their first listing
    censored: int = 0  # no crisis before their first listing: counted for their share
    censored_kept: int = 0  # of them, rows the share's draw kept


def censor(window, rule: Censoring, draw: str = "") -> tuple[object, np.ndarray, Censored]:
    """A labelled window (hearth/modelling/training/selection.py Window) under the rule: without
    the households first listed before it, each censored household labelled 0 and kept with
    the share of the window it was observed; with the mask of rows kept (to filter a frame in
    the same order) and the counts. The same window when the list changed nobody in it.
    `draw` salts the share's draw apart from Hearth's (benchmarks: the draw's own noise)."""
    pids = window.frame["household_pid"].to_numpy()
    keep = np.ones(pids.size, dtype=bool)
    if not rule.changed:
        return window, keep, Censored()
    left = np.isin(pids, np.fromiter(rule.left_out, dtype=object, count=len(rule.left_out)))
    share = np.array([rule.observed.get(p, np.nan) for p in pids], dtype=float)
    cens = ~np.isnan(share)
    drawn = kept_by_share(pids[cens], share[cens], rule.as_of + draw)
    keep[left] = False
    keep[np.flatnonzero(cens)[~drawn]] = False
    y = rule.labels(pids, window.y)
    before = np.isin(
        pids, np.fromiter(rule.crisis_before, dtype=object, count=len(rule.crisis_before))
    )
    counts = Censored(int(left.sum()), int(before.sum()), int(cens.sum()), int(drawn.sum()))
    kept = replace(window, frame=window.frame.filter(pl.Series(keep)), y=y[keep])
    return kept, keep, counts


def offer_ratio(con: duckdb.DuckDBPyConnection, as_of: str) -> float | None:
    """The lottery's crisis-rate ratio at `as_of`: households offered help against those held
    out at the capacity margin, where a keyed draw decided which (hearth/modelling/evaluation/
    list_effect.py); None until both groups have had a crisis in lists old enough to judge."""
    from hearth.modelling.evaluation.list_effect import list_working

    section = list_working(con, as_of)
    if section is None:
        return None
    ratio = section["effects"][0]["ratio"]
    if ratio is None or not np.isfinite(ratio):
        return None
    # a visit that halves or doubles crises is beyond any the evidence supports: a few crises
    # at the margin should not make one household's crisis count as two, or as none
    return float(np.clip(ratio, RATIO_BOUNDS[0], RATIO_BOUNDS[1]))


def under_offer(first_listing: dict[str, str], as_of: str) -> dict[str, float]:
    """Each changed household's share of the window opening at `as_of` that came after its
    first listing (a visit's effect lasts `LOOKBACK_MONTHS`): the whole window for one listed
    before it opened (top-of-list households stay listed), the months after its listing for
    one first listed inside it."""
    return {
        pid: 1.0
        if listed < as_of
        else max(0, LABEL_MONTHS - months_between(as_of, listed)) / LABEL_MONTHS
        for pid, listed in first_listing.items()
    }


def corrected_copies(
    pids: np.ndarray, y: np.ndarray, share: dict[str, float], ratio: float | None, salt: str
) -> np.ndarray:
    """How many times each row enters training so that the crises of households the list
    changed count as they would have without the offer: a crisis of a household offered for a
    share f of the window counts 1 / (1 + (ratio - 1) f), the rest once. Whole copies: the
    fraction is a keyed draw on the pseudonym (`kept_by_share`), the same households every run."""
    pids, y = np.asarray(pids), np.asarray(y)
    copies = np.ones(pids.size, dtype=np.int64)
    if ratio is None or not share:
        return copies
    f = np.array([share.get(p, 0.0) for p in pids], dtype=float)
    hit = (y != 0) & (f > 0)
    if not hit.any():
        return copies
    weight = 1.0 / (1.0 + (ratio - 1.0) * f[hit])
    whole = np.floor(weight)
    extra = kept_by_share(pids[hit], weight - whole, "offer-correction:" + salt)
    copies[hit] = (whole + extra).astype(np.int64)
    return copies


@dataclass(frozen=True)
class Correction:
    """How one window's households the list changed enter it when the lottery can tell what an
    offer does: every household kept, a changed household's crisis counted
    `corrected_copies` times (the rule: module docstring)."""

    as_of: str
    ratio: float
    share: dict[str, float] = field(default_factory=dict)  # each changed household's f

    @property
    def changed(self) -> set[str]:
        return set(self.share)

    @property
    def text(self) -> str:
        return RULE_CORRECTED + RULE

    def copies(self, pids: np.ndarray, y: np.ndarray) -> np.ndarray:
        return corrected_copies(pids, y, self.share, self.ratio, self.as_of)

    def breaches(self, pids: np.ndarray, y: np.ndarray) -> int:
        """Changed households of a labelled window (rows repeated as training repeats them)
        whose crisis rows are not the rule's count: a crisis that shows the help."""
        pids, y = np.asarray(pids), np.asarray(y)
        changed = np.isin(pids, np.fromiter(self.share, dtype=object, count=len(self.share)))
        hit = changed & (y != 0)
        if not hit.any():
            return 0
        uniq, rows = np.unique(pids[hit].astype(str), return_counts=True)
        want = self.copies(uniq.astype(object), np.ones(uniq.size, dtype=int))
        return int((rows != want).sum())


def correct(window, rule: Correction) -> tuple[object, np.ndarray, int]:
    """A labelled window under the correction: its rows repeated by `Correction.copies`, with
    the row indices (to take a frame in the same order) and how many changed households'
    crises it counted other than once."""
    pids = window.frame["household_pid"].to_numpy()
    copies = rule.copies(pids, window.y)
    rows = np.repeat(np.arange(pids.size), copies)
    moved = int((copies != 1).sum())
    if not moved:
        return window, rows, 0
    return replace(window, frame=window.frame[rows], y=np.asarray(window.y)[rows]), rows, moved


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
    ratio: float | None = None  # the lottery's offer ratio (`offer_ratio`), None until told
    train_correction: Correction | None = None  # the corrected rule, once the ratio is told
    valid_correction: Correction | None = None
    train_corrected: int = 0  # changed households whose crisis counted other than once
    valid_corrected: int = 0

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
        """Whether the corrected rule applies: a list was acted on and the lottery told the
        ratio (`RULE_CORRECTED`); otherwise the censoring rule (`RULE`)."""
        return self.acted_on and self.train_correction is not None

    @property
    def guard(self) -> Censoring | Correction:
        """The training window's rule, for the gate (`gate.list_refusal`)."""
        return self.train_correction if self.corrected else self.train_rule

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
            "rule": self.guard.text if self.corrected else RULE,
            "mode": "corrected" if self.corrected else "censored",
            "offer_ratio": self.ratio,
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
    rows = _rows(con, "modelling/holdout_shares_between", params)
    if rows and rows[0][0]:
        out.lists, out.min_share = int(rows[0][0]), float(rows[0][1])
        out.margin_lists = int(rows[0][3])
    if out.acted_on:
        out.ratio = offer_ratio(con, score_as_of)
    if out.ratio is not None:
        out.train_correction = corrected_rule(con, train_as_of, valid_as_of, out.ratio)
        out.valid_correction = corrected_rule(con, valid_as_of, score_as_of, out.ratio)
    return out


def corrected_rule(
    con: duckdb.DuckDBPyConnection, as_of: str, end: str, ratio: float
) -> Correction:
    """The corrected rule for the window from `as_of` to `end`, read from the warehouse."""
    return Correction(as_of, ratio, under_offer(first_listed(con, as_of, end), as_of))


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
