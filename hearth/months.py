"""Months as Hearth writes them (`YYYY-MM`): parsing, arithmetic and bounds, in one place.

Extract folders, partitions, as-of dates and windows are all months. Every module that needs
month arithmetic imports it from here (the synthetic world keeps its own integer month numbers
in `hearth/synth/months.py`, for numpy)."""

from __future__ import annotations

import calendar
import re
from datetime import date

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class MonthError(ValueError):
    """A month argument that is not a month, as one sentence."""


def parse_month(text: str, what: str = "month") -> str:
    """`text` if it is a month written YYYY-MM (2026-01), else a MonthError saying how to write
    it. `2026/01`, `Jan-2026`, `2026-1` and `2026-13` are refused, never guessed."""
    value = (text or "").strip()
    if MONTH_RE.match(value):
        return value
    if re.fullmatch(r"\d{4}-\d{2}", value):
        raise MonthError(f"The {what} {text!r} has no month {value[5:]}: months run 01 to 12.")
    raise MonthError(f"The {what} {text!r} is not a month: write it as YYYY-MM, e.g. 2026-01.")


def add_months(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:7]) - 1 + n
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def months_between(a: str, b: str) -> int:
    """Whole months from `a` to `b` (positive when b is later)."""
    return (int(b[:4]) - int(a[:4])) * 12 + int(b[5:7]) - int(a[5:7])


def month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def month_end(month: str) -> date:
    y, m = int(month[:4]), int(month[5:7])
    return date(y, m, calendar.monthrange(y, m)[1])


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
