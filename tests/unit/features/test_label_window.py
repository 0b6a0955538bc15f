"""Where the crisis label's year starts and ends (sql/features/labels.sql,
hearth/features/build.py), on a
tiny hand-built warehouse: one household per boundary, labels worked out by hand.

A household's label at the as-of month M is 1 if a crisis linked to it is dated in
[M, M + 12 months): for M = 2025-01, from 2025-01-01 to 2025-12-31, both days included. It
starts at the as-of month, never the month before: a crisis on 2024-12-31 (or 2024-12-01) is a
feature at 2025-01, not an outcome."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from hearth.features.build import build_feature_sets, build_features, build_labels
from hearth.features.design import Design
from hearth.warehouse import connect
from tests.support.tiny_warehouse import add_fire_record, add_household, record_history_from, relink

AS_OF = "2025-01"
CRISIS = dict(event_type="DWELLING_FIRE", cause="COOKING")  # fire_other, a crisis

# household: records (date, extract it arrived in, kind)
RECORDS = {
    "crisis_first_day_of_month_before": [(date(2024, 12, 1), "2024-12", CRISIS)],
    "crisis_last_day_of_month_before": [(date(2024, 12, 31), "2024-12", CRISIS)],
    "crisis_first_day_of_as_of_month": [(date(2025, 1, 1), "2025-01", CRISIS)],
    "crisis_last_day_of_label_year": [(date(2025, 12, 31), "2025-12", CRISIS)],
    "crisis_first_day_after_label_year": [(date(2026, 1, 1), "2026-01", CRISIS)],
    # labels count every record received, whenever it arrived
    "crisis_in_year_arrived_late": [(date(2025, 6, 15), "2026-03", CRISIS)],
    "false_alarm_on_first_day": [(date(2025, 1, 1), "2025-01", {})],  # not a crisis
    "no_records": [],
}

# Worked out by hand, at 2025-01 (crises dated 2025-01-01 to 2025-12-31).
EXPECTED_2025_01 = {
    "crisis_first_day_of_month_before": 0,
    "crisis_last_day_of_month_before": 0,
    "crisis_first_day_of_as_of_month": 1,
    "crisis_last_day_of_label_year": 1,
    "crisis_first_day_after_label_year": 0,
    "crisis_in_year_arrived_late": 1,
    "false_alarm_on_first_day": 0,
    "no_records": 0,
}

# ...and at 2024-01 (crises dated 2024-01-01 to 2024-12-31): the two December crises are in.
EXPECTED_2024_01 = {
    "crisis_first_day_of_month_before": 1,
    "crisis_last_day_of_month_before": 1,
    "crisis_first_day_of_as_of_month": 0,
    "crisis_last_day_of_label_year": 0,
    "crisis_first_day_after_label_year": 0,
    "crisis_in_year_arrived_late": 0,
    "false_alarm_on_first_day": 0,
    "no_records": 0,
}


def _build(con) -> None:
    for household, records in RECORDS.items():
        add_household(con, household)
        for when, arrived, kind in records:
            add_fire_record(con, household, when, arrived, **kind)
    relink(con)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    with connect(tmp_path_factory.mktemp("label_window") / "warehouse.duckdb") as con:
        _build(con)
        yield con


def _labels(con, as_of: str) -> dict[str, int]:
    households = pl.Series("household_pid", list(RECORDS))
    return dict(zip(households, build_labels(con, households, as_of).to_list(), strict=True))


def test_labels_at_2025_01_by_hand(warehouse):
    assert _labels(warehouse, AS_OF) == EXPECTED_2025_01


def test_labels_at_2024_01_by_hand(warehouse):
    assert _labels(warehouse, "2024-01") == EXPECTED_2024_01


def test_labels_start_exactly_where_features_stop(warehouse):
    """The last day before the as-of month is a feature and not an outcome; the as-of date is
    an outcome and not a feature."""
    f = build_features(warehouse, AS_OF).filter(pl.col("household_pid").str.starts_with("crisis_"))
    past = dict(zip(f["household_pid"], f["fire_other_12m"].cast(pl.Int64), strict=True))
    labels = _labels(warehouse, AS_OF)
    assert (past["crisis_last_day_of_month_before"], labels["crisis_last_day_of_month_before"]) == (
        1,
        0,
    )
    assert (past["crisis_first_day_of_as_of_month"], labels["crisis_first_day_of_as_of_month"]) == (
        0,
        1,
    )
    # no household's crisis is both a feature and an outcome at the same date
    assert not any(past[h] and labels[h] for h in past)


def test_stored_training_and_validation_labels_follow_the_design(tmp_path):
    """The labels the pipeline stores (build_feature_sets, the crisis_labels asset) for
    scoring at 2026-01: trained at 2024-01 (crises in 2024), validated at 2025-01 (crises in
    2025). Each December crisis is in the training year only."""
    with connect(tmp_path / "warehouse.duckdb") as con:
        _build(con)
        record_history_from(con, "2021-01")
        design = Design.for_scoring("2026-01")
        assert (design.train_as_of, design.valid_as_of) == ("2024-01", "2025-01")
        build_feature_sets(con, design)
    for as_of, expected in (("2024-01", EXPECTED_2024_01), ("2025-01", EXPECTED_2025_01)):
        stored = pl.read_parquet(tmp_path / "features" / f"labels_{as_of}.parquet")
        assert dict(stored.select("household_pid", "crisis_12m").iter_rows()) == expected
    assert not (tmp_path / "features" / "labels_2026-01.parquet").exists()
