"""The NHS small-number rule for aggregate tables that leave the partnership's analysts.

A count from 1 to 7 is shown as `*`; any other count is rounded to the nearest 5
(8 -> 10, 12 -> 10, 13 -> 15); zero stays 0. Rounding the others as well stops a suppressed
cell being worked out by subtracting the rest of a table from its published total."""

from __future__ import annotations

SUPPRESSED = "*"
SMALL_MAX = 7


def rounded(count: int) -> int | None:
    """One count as it may be shown, as a number: 0, None for 1-7 (suppressed), else to the
    nearest 5. A workbook writes the number as a number and None as '*'."""
    n = int(count)
    if n < 0:
        raise ValueError("a count cannot be negative")
    if n == 0:
        return 0
    if n <= SMALL_MAX:
        return None
    return 5 * ((2 * n + 5) // 10)


def suppress(count: int | None) -> str:
    """One count as it may be shown: '' for unknown, '0', '*' for 1-7, else to the nearest 5."""
    if count is None:
        return ""
    n = rounded(count)
    return SUPPRESSED if n is None else f"{n:,}"


def headline(count: int) -> str:
    """A partnership-wide total (households scored, households in a tier): shown exactly, as in
    run_summary.json, unless it is 1-7, which is never shown."""
    n = int(count)
    return SUPPRESSED if 1 <= n <= SMALL_MAX else f"{n:,}"


def is_disclosive(text: str) -> bool:
    """True if a shown cell is a bare count from 1 to 7 (what a test must never find)."""
    t = str(text).strip().replace(",", "")
    return t.isdigit() and 1 <= int(t) <= SMALL_MAX
