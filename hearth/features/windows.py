"""The windows an event feature counts records over, in words, and the 3-year window kept as a
rate: records per 2 years (`rate_scale`, applied where the features are built,
hearth/features/build.py), which windows a model trained with some history reads
(`usable_windows`), and how a count or a rate is said in a reason."""

from __future__ import annotations

WINDOW_WORDS = {3: "3 months", 6: "6 months", 12: "12 months", 24: "2 years", 36: "3 years"}
# A window longer than this is kept as a rate, its records per `RATE_PER` months (`rate_scale`),
# and a model trained with this much history or more reads the longest window (`usable_windows`).
RATE_PER = 24
RATE_WORDS = "2 years"  # `RATE_PER` in words


def rate_scale(window: int, history: int) -> float:
    """What a count of records in the last `window` months is multiplied by to be kept, with
    `history` months of records before the date: 1 for a window of up to `RATE_PER` months (a
    count); for a longer one (the 3-year window) `RATE_PER` over the months the window holds
    records of (all of it, or all the history there is if that is shorter): the records per 2
    years over the last 3 years. A model trained with 2 years of history (the refit at T-12 on
    a 3-year world) reads the same number it would as a 2-year count, and a year later reads
    all 3 years at the same rate, not half as many again."""
    if window <= RATE_PER:
        return 1.0
    return RATE_PER / max(1, min(window, history))


def usable_windows(windows: tuple[int, ...], history: int) -> set[int]:
    """The windows a model trained with `history` months of history reads: those no longer than
    it; from `RATE_PER` months (and below the longest) the longest window, a rate over all the
    history there is, in place of the window as long as the history (at the training date the
    two are the same number; a year later the rate also reads the older records)."""
    out = {w for w in windows if w <= history}
    if RATE_PER <= history < max(windows):
        out = (out - {history}) | {max(windows)}
    return out


def is_rate(window: int | None) -> bool:
    """Whether a count over `window` months is kept as a rate (`rate_scale`)."""
    return window is not None and window > RATE_PER


def amount(window: int | None, value: float) -> float:
    """A count's value as its words say it: a whole number, or a rate to one decimal."""
    return round(value, 1) if is_rate(window) else int(round(value))


def amount_words(n: float) -> str:
    """A number as a reason says it: whole numbers as they are ("3"), a rate to one decimal
    ("0.7")."""
    return f"{n:.1f}".rstrip("0").rstrip(".")


def window_words(window: int) -> str:
    """How a count's words close: "in the last 12 months", or for a rate "per 2 years over the
    last 3 years"."""
    span = WINDOW_WORDS[window]
    return f"per {RATE_WORDS} over the last {span}" if is_rate(window) else f"in the last {span}"
