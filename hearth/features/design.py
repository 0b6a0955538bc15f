"""The temporal design, in one place: for scoring at T, features and labels at T-24 (training)
and T-12 (validation), scores at T; the default T; how much history a date has, and the
longest "months since" a model trained with it can tell apart.

A run reaches it through `RunSettings.design(con)` (hearth/defs/resources.py): the as-of month
the run was given, or the month after the newest extract landed and accepted."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from hearth.months import add_months, months_between
from hearth.sources import SOURCES
from hearth.warehouse import query_one


@dataclass(frozen=True)
class Design:
    """The temporal design for scoring at T: train at T-24 (labels to T-12), validate at T-12
    (labels to T), score at T. A label window never reaches past the next date's features."""

    score_as_of: str
    valid_as_of: str
    train_as_of: str

    @classmethod
    def for_scoring(cls, as_of: str) -> Design:
        return cls(as_of, add_months(as_of, -12), add_months(as_of, -24))

    @classmethod
    def for_run(cls, con: duckdb.DuckDBPyConnection, as_of: str | None) -> Design:
        """The design for a run given `as_of`, or by default the month after the newest
        extract."""
        return cls.for_scoring(as_of or default_as_of(con))


def default_as_of(con: duckdb.DuckDBPyConnection) -> str:
    """The month after the newest extract loaded."""
    newest = query_one(con, "features/newest_month")[0]
    if newest is None:
        raise LookupError("No extract has been loaded yet; land extracts and run the ingest step.")
    return add_months(newest, 1)


# Households exist at the training date only if a register month came before it.
MIN_TRAINING_HISTORY = 1


def require_history(con: duckdb.DuckDBPyConnection, design: Design) -> None:
    """Refuse, in words, a design whose training date comes (almost) before the extracts."""
    history = history_months(con, design.train_as_of)
    if history >= MIN_TRAINING_HISTORY:
        return
    first = query_one(con, "features/first_month", _first_month_params())[0]
    have = history_months(con, design.score_as_of)
    raise ValueError(
        f"Scoring at {design.score_as_of} trains on households as at {design.train_as_of} "
        f"(24 months earlier), which needs at least {MIN_TRAINING_HISTORY} month of extracts "
        f"before that, so it needs {24 + MIN_TRAINING_HISTORY} months of extracts; the extracts "
        f"loaded start at {first}, {have} months before {design.score_as_of}. Land the "
        "earlier months' extracts."
    )


def as_of_refusal(as_of: str, first: str, newest: str) -> str | None:
    """Why a run cannot score at `as_of` when the extracts landed run from `first` to `newest`
    (all YYYY-MM), as one sentence; None when it can. Checked before a run starts, so a month
    the run could never use is refused in seconds, not after minutes of work."""
    latest = add_months(newest, 1)
    if as_of > latest:
        n = months_between(newest, as_of)
        return (
            f"The as-of month {as_of} is {n} month{'s' if n != 1 else ''} after the newest "
            f"extract, {newest}: a run scores at the month after the newest extract ({latest}) "
            "or earlier."
        )
    earliest = add_months(first, 24 + MIN_TRAINING_HISTORY)
    if as_of < earliest:
        return (
            f"The as-of month {as_of} is too early: scoring at it trains on households as at "
            f"{add_months(as_of, -24)} (24 months earlier), and the extracts landed start at "
            f"{first}, so the earliest as-of month they allow is {earliest}."
        )
    return None


def _first_month_params() -> dict[str, list[str]]:
    """The parameter of features/first_month.sql: the event sources, from their contracts."""
    return {"event_sources": [n for n, s in SOURCES.items() if s.kind == "event"]}


def history_months(con: duckdb.DuckDBPyConnection, as_of: str) -> int:
    """Whole months of event history before `as_of`."""
    first = query_one(con, "features/first_month", _first_month_params())[0]
    if first is None:
        return 0
    return months_between(first, as_of)


# The longest "months since" any model tells apart: beyond it, "none in the last 36 months".
LONGEST_RECENCY = 36


def recency_cap(history: int) -> int:
    """The longest "months since" a model trained with `history` months can tell apart."""
    return max(1, min(history, LONGEST_RECENCY))


def cap_recency(frame: pl.DataFrame, cap: int) -> pl.DataFrame:
    """ "Months since" beyond `cap` becomes cap + 1 ("none in the last cap months"), so a
    household reads the same at the training date and at every later date."""
    cols = [c for c in frame.columns if c.endswith("_months_since")]
    # months are whole numbers, so clipping at cap + 1 is "anything beyond cap reads cap + 1"
    return frame.with_columns([pl.col(c).clip(upper_bound=cap + 1) for c in cols])
