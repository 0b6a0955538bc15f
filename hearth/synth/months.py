"""Month arithmetic on integer month numbers (year * 12 + month - 1) and day numbers."""

from __future__ import annotations

import numpy as np


def parse_month(text: str) -> int:
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


def month_name(m: int) -> str:
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def month_start_day(m: int | np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of the first day of month number m."""
    m = np.asarray(m, dtype=np.int64)
    months_since_epoch = m - 1970 * 12
    return months_since_epoch.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def days_in_month(m: int | np.ndarray) -> np.ndarray:
    return month_start_day(np.asarray(m) + 1) - month_start_day(m)


def random_day_in_month(rng: np.random.Generator, m: np.ndarray) -> np.ndarray:
    """A uniform day (as days since epoch) within each month number in m."""
    m = np.asarray(m, dtype=np.int64)
    return month_start_day(m) + (rng.random(m.shape) * days_in_month(m)).astype(np.int64)
