"""A tiny hand-built warehouse for the rule tests (tests/unit/features/test_feature_windows.py,
tests/unit/features/test_label_window.py): households with one resident each and fire records,
inserted
straight into the raw tables as ingest would leave them, then linked by the real linkage SQL.
Fire records carry the household key, so each links to exactly the household named."""

from __future__ import annotations

from datetime import date

import duckdb

from hearth.linkage.link import link

# Every household and its resident arrived long before any date the tests look at.
REGISTER_MONTH = "2020-01"


def add_household(con: duckdb.DuckDBPyConnection, household: str) -> None:
    """A household in the address register with one adult living in it since 2015."""
    con.execute(
        "INSERT INTO raw_addresses (household_pid, la_code, ward_code, lsoa_code, imd_decile, "
        "property_type, tenure, updated_date, _row_number, _extract_month) "
        "VALUES (?, 'E06000901', 'E05000001', 'E01000001', 5, 'HOUSE', 'OWNER_OCCUPIED', ?, 1, ?)",
        [household, date(2015, 1, 1), REGISTER_MONTH],
    )
    con.execute(
        "INSERT INTO raw_people (person_pid, household_pid, birth_year, sex, ethnic_group, "
        "status, effective_date, _row_number, _extract_month) "
        "VALUES (?, ?, 1980, 'F', 'WHITE', 'RESIDENT', ?, 1, ?)",
        [f"person of {household}", household, date(2015, 1, 1), REGISTER_MONTH],
    )


def add_fire_record(
    con: duckdb.DuckDBPyConnection,
    household: str,
    when: date,
    arrived: str,
    event_type: str = "FALSE_ALARM",
    cause: str | None = None,
) -> None:
    """A fire and rescue record for the household, dated `when`, in the extract of `arrived`.
    FALSE_ALARM is the catalogue's `false_alarm`; DWELLING_FIRE with cause COOKING is
    `fire_other` and a crisis."""
    n = con.sql("SELECT count(*) FROM raw_fire").fetchall()[0][0]
    con.execute(
        "INSERT INTO raw_fire (record_id, household_pid, event_date, event_type, cause, "
        "_row_number, _extract_month) VALUES (?, ?, ?, ?, ?, 1, ?)",
        [f"FR{n + 1}", household, when, event_type, cause, arrived],
    )


def record_history_from(con: duckdb.DuckDBPyConnection, month: str) -> None:
    """An ingest-log entry saying fire's extracts start at `month` (how far history reaches)."""
    con.execute(
        "INSERT INTO ingest_log VALUES ('fire', ?, 'fire.csv', 'x', 1, 1, 0, 'loaded', NULL, "
        "now())",
        [month],
    )


def relink(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild residence, households and linked_events from the raw rows
    (hearth/linkage/link.py)."""
    link(con)
