"""Censoring at the first listing (issue 26): Hearth's safe-updating rule until the hold-out
lottery can tell what an offer does (hearth/modelling/training/safe_updating.py has the whole
rule). Which households a list changed (`first_listed`), and how a window follows them only
until their first listing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import polars as pl

from hearth.features.build import as_of_params
from hearth.months import add_months, month_start, months_between
from hearth.sources import INTERVENTION_SOURCES, SOURCES
from hearth.warehouse import query, query_source

LOOKBACK_MONTHS = 12
LABEL_MONTHS = 12  # a label window's length (sql/features/labels.sql)
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


def query_rows(con: duckdb.DuckDBPyConnection, name: str, params: dict, source=None) -> list[tuple]:
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
    rows = query_rows(
        con, "modelling/changed_by_list_listed", {"start_month": start, "end_month": end}
    )
    for name in INTERVENTION_SOURCES:
        params = {"start": month_start(start), "end": month_start(end)}
        rows += query_rows(con, "modelling/changed_by_list", params, SOURCES[name])
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
    rows = query_rows(con, "features/labels", as_of_params(as_of))
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
