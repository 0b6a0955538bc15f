"""Counting the crises a list's offer changed as they would have been without it (issue 26):
Hearth's safe-updating rule once the hold-out lottery tells what an offer does
(hearth/modelling/training/safe_updating.py has the whole rule)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import polars as pl

from hearth.modelling.training.censoring import (
    LABEL_MONTHS,
    LOOKBACK_MONTHS,
    RULE,
    first_listed,
    kept_by_share,
    query_rows,
)
from hearth.months import months_between

# The offer ratio a correction uses (`offer_ratio`): at most 1. The correction counts back the
# crises an offer may have prevented; it never counts a recorded crisis less than once. A
# lottery that reads above 1 (offered households with more crises than held-out ones) is taken
# as no effect: counting the helped households' crises less is naive retraining's error made
# larger (they score lower and leave the list), and the lottery's noise puts a ratio above 1
# often where visits work (a spread of about 0.16 in the log at 40,000 households over two
# years, against an offer worth about 0.85: seeds 306, 307 and 337 read 1.1-1.3 on the closed
# loop, and the rule then fell below naive retraining, docs/performance.md).
RATIO_BOUNDS = (0.5, 1.0)
# What Hearth believes of an offer before its own lottery has spoken: no effect, with 95% of the
# belief between halving and doubling crises, a normal prior on the log ratio. The lottery's
# first lists hold a few crises each, and its raw ratio swung from 0.5 to 1.3 on the closed
# loop's first year (docs/performance.md); the prior weighs it by how much it holds.
PRIOR_SD = math.log(2.0) / 1.959963984540054
RULE_CORRECTED = (
    "Trained and validated on every household, with the crises a list's offer changed counted "
    "as they would have been without it. The hold-out lottery tells what an offer does: the "
    "crisis rate of the households it offered help against those it held out, where a keyed "
    "draw, not the score, decided which, among the households no list had named in the year "
    "before (for those, an offer was already made: the lottery changed little), drawn towards 1 "
    "(no effect) by a prior holding 95% of its belief between halving and doubling crises, so "
    "a few crises in the lottery's first lists weigh little and many weigh much, and kept "
    f"between {RATIO_BOUNDS[0]} and {RATIO_BOUNDS[1]:g}: a lottery that reads above 1 counts "
    "as no effect, so a recorded crisis never counts less than once (that would score the "
    "households the list helped lower, naive retraining's error made larger); until a "
    "lottery's list is old enough to judge, the ratio is 1. "
    "A household a published list named (and did not "
    "hold out) or that was offered help from a list, up to "
    f"{LOOKBACK_MONTHS} months before a window opens, has each crisis in that window counted "
    "1 / (1 + (ratio - 1) x the share of the window after its first listing) times (whole "
    "copies, the fraction by a keyed draw), so the model learns the household's risk, not the "
    "help it was given, and keeps the households most at risk in training. Without a lottery "
    "(no list held anyone out), the censoring rule applies: "
)


@dataclass(frozen=True)
class OfferEvidence:
    """What the lottery holds at an as-of month: households and crises of those offered help
    and of those held out, and their ratio compared within each list's lottery with its log's
    standard error (hearth/modelling/evaluation/list_effect.py, `lottery_ratio`); `ratio` is
    the one the correction uses, after the prior (`shrunk`)."""

    offered: int = 0
    offered_crises: int = 0
    held_out: int = 0
    held_out_crises: int = 0
    within_lists: float | None = None  # the ratio compared within each list, pooled
    log_se: float | None = None

    @property
    def _told(self) -> bool:
        return (
            self.within_lists is not None
            and self.log_se is not None
            and math.isfinite(self.within_lists)
            and self.within_lists > 0
            and math.isfinite(self.log_se)
            and self.log_se > 0
        )

    @property
    def raw(self) -> float | None:
        """The lottery's own ratio (crisis rate offered over held out, within each list where
        told, else pooled), None without both groups and a held-out crisis."""
        if self._told:
            return self.within_lists
        if not (self.offered and self.held_out and self.held_out_crises):
            return None
        return (self.offered_crises / self.offered) / (self.held_out_crises / self.held_out)

    @property
    def ratio(self) -> float:
        if self._told:
            return shrunk(math.log(self.within_lists), self.log_se**2)
        return shrunk_ratio(self.offered_crises, self.offered, self.held_out_crises, self.held_out)


def shrunk(log_ratio: float, variance: float) -> float:
    """The offer ratio the correction uses: the posterior mean of the log crisis-rate ratio
    under the prior N(0, PRIOR_SD^2) and a normal likelihood (`log_ratio`, `variance`), kept
    within RATIO_BOUNDS: at most 1, so a lottery reading above 1 counts as no effect."""
    weight = PRIOR_SD**2 / (PRIOR_SD**2 + max(variance, 1e-12))
    return float(np.clip(math.exp(weight * log_ratio), RATIO_BOUNDS[0], RATIO_BOUNDS[1]))


def shrunk_ratio(k1: int, n1: int, k0: int, n0: int) -> float:
    """`shrunk` on the pooled counts (k1/n1 over k0/n0, the Katz variance): where the lottery
    could not be compared within its lists. A group with no crisis counts half of one in each
    cell (Haldane), so an offered group with none is evidence, not nothing; an empty group
    tells nothing (1)."""
    if min(n1, n0) == 0:
        return 1.0
    if min(k1, k0) == 0:
        k1, n1, k0, n0 = k1 + 0.5, n1 + 0.5, k0 + 0.5, n0 + 0.5
    log_ratio = math.log((k1 / n1) / (k0 / n0))
    return shrunk(log_ratio, 1 / k1 - 1 / n1 + 1 / k0 - 1 / n0)


def lottery_drawn(con: duckdb.DuckDBPyConnection, as_of: str) -> bool:
    """Whether a list scored before `as_of` drew a hold-out lottery that held someone out."""
    rows = query_rows(con, "modelling/lotteries_before", {"end_month": as_of})
    return bool(rows and rows[0][0])


def offer_evidence(con: duckdb.DuckDBPyConnection, as_of: str) -> OfferEvidence | None:
    """The lottery's counts at `as_of` (lists old enough to judge: empty until one is), or None
    when no list before it drew a lottery that held someone out: then no ratio can ever be
    told from the lists so far, and the censoring rule applies."""
    from hearth.modelling.evaluation.list_effect import lottery_outcomes, lottery_ratio, reachable

    if not lottery_drawn(con, as_of):
        return None
    # the report's "offered against held out" (list_working's first comparison), without the
    # rest of the report's section: its bootstrap and words are not needed to train
    rows = lottery_outcomes(con, as_of)
    if rows is not None:  # what an offer does to a household it reaches: a first offer
        rows = reachable(rows)
    if rows is None or rows.height == 0:
        return OfferEvidence()
    held, offered = rows.filter(pl.col("held_out")), rows.filter(~pl.col("held_out"))
    ratio, _, _, se = lottery_ratio(offered, held)
    return OfferEvidence(
        offered=offered.height,
        offered_crises=int(offered["crisis"].sum()),
        held_out=held.height,
        held_out_crises=int(held["crisis"].sum()),
        within_lists=ratio,
        log_se=se,
    )


def offer_ratio(con: duckdb.DuckDBPyConnection, as_of: str) -> float | None:
    """The offer ratio the correction uses at `as_of` (`OfferEvidence.ratio`: the lottery's,
    weighed against the prior of no effect; 1 until a lottery's list is old enough to judge),
    or None when no lottery was drawn (`offer_evidence`)."""
    evidence = offer_evidence(con, as_of)
    return None if evidence is None else evidence.ratio


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


def corrected_rule(
    con: duckdb.DuckDBPyConnection, as_of: str, end: str, ratio: float
) -> Correction:
    """The corrected rule for the window from `as_of` to `end`, read from the warehouse."""
    return Correction(as_of, ratio, under_offer(first_listed(con, as_of, end), as_of))
