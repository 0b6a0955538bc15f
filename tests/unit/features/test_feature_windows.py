"""Where an event feature's windows start and stop (sql/features/event_counts.sql), on a tiny
hand-built warehouse: one household per boundary, one false fire alarm each, every count
worked out by hand for the as-of month 2025-01 (the as-of date 2025-01-01).
The extracts start in 2021-12, so every date here has 3 years of history or more: the 3-year
window is kept as records per 2 years (`windows.rate_scale`), the count times 24/36.

- Only events dated strictly before the as-of date count: one on the as-of date is not a
  feature (it is in the label window, tests/unit/features/test_label_window.py).
- A window's first day is inside it: the 12-month window at 2025-01-01 is 2024-01-01 to
  2024-12-31, both days included; 2023-12-31 is outside it. The same for 3, 6, 24, 36 months.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from hearth.features.build import build_features
from hearth.features.design import cap_recency
from hearth.warehouse import connect
from tests.support.tiny_warehouse import (
    add_fire_record,
    add_household,
    record_history_from,
    relink,
)

AS_OF = "2025-01"

# household: (the false alarm's date, the extract it arrived in)
EVENTS = {
    # On the as-of date. It is in an extract before the as-of month (ingest would not let such
    # a date into December's folder, but the feature SQL must not rely on that), so only the
    # event-date rule keeps it out.
    "on_as_of_date": (date(2025, 1, 1), "2024-12"),
    "day_before_as_of": (date(2024, 12, 31), "2024-12"),
    "first_day_of_3m": (date(2024, 10, 1), "2024-10"),
    "day_before_3m": (date(2024, 9, 30), "2024-09"),
    "first_day_of_6m": (date(2024, 7, 1), "2024-07"),
    "day_before_6m": (date(2024, 6, 30), "2024-06"),
    "first_day_of_12m": (date(2024, 1, 1), "2024-01"),
    "day_before_12m": (date(2023, 12, 31), "2023-12"),
    "first_day_of_24m": (date(2023, 1, 1), "2023-01"),
    "day_before_24m": (date(2022, 12, 31), "2022-12"),
    "first_day_of_36m": (date(2022, 1, 1), "2022-01"),
    "day_before_36m": (date(2021, 12, 31), "2021-12"),
}

# Worked out by hand: the counts in the 3, 6, 12, 24 and 36 months before 2025-01-01, the trend
# (last 12 months minus the 12 before) and the months since (calendar months between the
# event's month and January 2025; 99 when none in three years).
EXPECTED = {
    #                       3m 6m 12m 24m 36m trend since
    "on_as_of_date": (0, 0, 0, 0, 0, 0, 99),
    "day_before_as_of": (1, 1, 1, 1, 1, 1, 1),
    "first_day_of_3m": (1, 1, 1, 1, 1, 1, 3),
    "day_before_3m": (0, 1, 1, 1, 1, 1, 4),
    "first_day_of_6m": (0, 1, 1, 1, 1, 1, 6),
    "day_before_6m": (0, 0, 1, 1, 1, 1, 7),
    "first_day_of_12m": (0, 0, 1, 1, 1, 1, 12),
    "day_before_12m": (0, 0, 0, 1, 1, -1, 13),
    "first_day_of_24m": (0, 0, 0, 1, 1, -1, 24),
    "day_before_24m": (0, 0, 0, 0, 1, 0, 25),
    "first_day_of_36m": (0, 0, 0, 0, 1, 0, 36),
    "day_before_36m": (0, 0, 0, 0, 0, 0, 99),
}

COLUMNS = [
    "false_alarm_3m",
    "false_alarm_6m",
    "false_alarm_12m",
    "false_alarm_24m",
    "false_alarm_36m",
    "false_alarm_trend",
    "false_alarm_months_since",
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("feature_windows") / "warehouse.duckdb"
    with connect(path) as con:
        for household, (when, arrived) in EVENTS.items():
            add_household(con, household)
            add_fire_record(con, household, when, arrived)
        record_history_from(con, min(arrived for _, arrived in EVENTS.values()))
        relink(con)
        yield con


@pytest.fixture(scope="module")
def features(warehouse) -> pl.DataFrame:
    return build_features(warehouse, AS_OF)


def _values(frame: pl.DataFrame, household: str) -> tuple[int, ...]:
    """The household's counts (the 3-year window's rate per 2 years read back as its count)."""
    row = frame.filter(pl.col("household_pid") == household).select(COLUMNS).row(0)
    return tuple(
        round(v * 36 / 24) if c == "false_alarm_36m" else int(v)
        for c, v in zip(COLUMNS, row, strict=True)
    )


def test_the_3_year_window_is_kept_per_2_years(features):
    """One record in the last 3 years, with 3 years of history, is kept as 24/36 of a record
    per 2 years (float32); none is 0."""
    got = dict(features.select("household_pid", "false_alarm_36m").iter_rows())
    assert got["first_day_of_36m"] == pytest.approx(24 / 36, abs=1e-7)
    assert got["day_before_as_of"] == pytest.approx(24 / 36, abs=1e-7)
    assert got["day_before_36m"] == 0.0


def test_every_event_is_linked_to_its_household(warehouse):
    """So that a zero below is the window's doing, not the linkage's."""
    linked = dict(
        warehouse.sql("SELECT household_pid, count(*) FROM linked_events GROUP BY ALL").fetchall()
    )
    assert linked == dict.fromkeys(EVENTS, 1)


@pytest.mark.parametrize("household", list(EXPECTED))
def test_window_bounds_by_hand(features, household):
    assert _values(features, household) == EXPECTED[household]


def test_an_event_on_the_as_of_date_is_not_a_feature_until_the_next_month(warehouse, features):
    # at 2025-01-01: nothing, in any window
    assert _values(features, "on_as_of_date") == (0, 0, 0, 0, 0, 0, 99)
    # at 2025-02-01 the same record is a month old: in every window, latest 1 month ago
    later = build_features(warehouse, "2025-02")
    assert _values(later, "on_as_of_date") == (1, 1, 1, 1, 1, 1, 1)


def test_the_12_month_window_and_the_12_month_recency_cap_agree(features):
    """A model trained with 12 months of history caps "months since" at 12 (13 reads "none in
    the last 12 months"): a household has a record in the 12-month window exactly when its
    capped "months since" is 12 or less."""
    capped = cap_recency(features, 12)
    first = capped.filter(pl.col("household_pid") == "first_day_of_12m").row(0, named=True)
    before = capped.filter(pl.col("household_pid") == "day_before_12m").row(0, named=True)
    assert (first["false_alarm_12m"], first["false_alarm_months_since"]) == (1, 12)
    assert (before["false_alarm_12m"], before["false_alarm_months_since"]) == (0, 13)
    for row in capped.iter_rows(named=True):
        assert (row["false_alarm_12m"] > 0) == (row["false_alarm_months_since"] <= 12), row
