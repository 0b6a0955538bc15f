"""One warehouse of a landing, ingested and linked for real, read back for the partnership
tests (tests/unit/linkage/test_partnership*.py)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hearth.ingest.landing import inventory
from hearth.ingest.run import ingest_source
from hearth.linkage.link import link
from hearth.sources import SOURCES
from hearth.warehouse import connect


def warehouse_of(landing: Path, path: Path) -> dict[str, pl.DataFrame]:
    """Ingest every source of `landing` into a fresh DuckDB file, link, and read back."""
    with connect(path) as con:
        inv = inventory(landing)
        months = sorted({e.month for e in inv.extracts})
        for source in SOURCES:
            ingest_source(con, landing, source, months, inv=inv)
        link(con)
        return {
            "linked": con.sql(
                "SELECT source, record_id, household_pid, link_status FROM linked_events"
            ).pl(),
            "households": con.sql("SELECT household_pid, la_code FROM households").pl(),
            "residence": con.sql(
                "SELECT person_pid, household_pid, valid_from, valid_to FROM residence"
            ).pl(),
            "addresses": con.sql("SELECT DISTINCT la_code FROM raw_addresses").pl(),
            "ingest_log": con.sql(
                "SELECT source, extract_month, rows_received, status FROM ingest_log"
            ).pl(),
        }
