"""Two ingest rules at the level where they live, on a tiny hand-built warehouse (issue 14):

- the late-duplicate check of each source looks in that source's own table, at earlier months
  only (the template sql/ingest/record_ids.sql, filled from its contract);
- the accounting check flags rows lost between received and loaded as well as rows counted
  twice (sql/ingest/accounting.sql through ingest_source)."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from hearth.ingest.run import ingest_source
from hearth.sources import SOURCES
from hearth.warehouse import connect, query_source
from tests.support.quality_corpus import LATEST, MONTHS

EVENTS = [s for s, src in SOURCES.items() if src.kind == "event"]
PREFIX = {"social_care": "SC", "health": "HL", "fire": "FR", "police": "PL"}


def _put(con, source: str, record_id: str, month: str) -> None:
    """One row in raw_<source> holding only a record id and its extract month."""
    schema = con.table(f"raw_{source}").limit(0).pl().schema
    row = pl.DataFrame({c: [None] for c in schema}, schema=schema).with_columns(
        pl.lit(record_id).alias("record_id"), pl.lit(month).alias("_extract_month")
    )
    con.register("one_row", row)
    try:
        con.table("one_row").insert_into(f"raw_{source}")
    finally:
        con.unregister("one_row")


def _late(con, source: str, record_id: str, month: str) -> list[str]:
    con.register("incoming_ids", pl.DataFrame({"record_id": [record_id]}))
    try:
        return [
            r
            for (r,) in query_source(
                con, "ingest/record_ids", SOURCES[source], {"month": month}
            ).fetchall()
        ]
    finally:
        con.unregister("incoming_ids")


@pytest.mark.parametrize("source", EVENTS)
def test_a_late_duplicate_is_looked_for_in_the_sources_own_table(source, tmp_path):
    rid = f"{PREFIX[source]}000000042"
    with connect(tmp_path / "w.duckdb") as con:
        # the same id in every other source's table, in an earlier month: not a duplicate
        for other in EVENTS:
            if other != source:
                _put(con, other, rid, "2025-10")
        assert _late(con, source, rid, "2025-11") == []
        # in this source's own table, but in a later month: not a duplicate of this month's
        _put(con, source, rid, "2025-12")
        assert _late(con, source, rid, "2025-11") == []
        # in an earlier month of its own table: a late duplicate
        _put(con, source, rid, "2025-10")
        assert _late(con, source, rid, "2025-11") == [rid]


@pytest.fixture
def landing(quality_world, tmp_path):
    dst = tmp_path / "landing"
    shutil.copytree(quality_world.landing / "police", dst / "police")
    return dst


def test_accounting_flags_rows_lost_and_rows_counted_twice(landing, tmp_path):
    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        report = ingest_source(con, landing, "police", list(MONTHS))
        assert report.accounting_errors == []
        received = report.results[-1].rows_received
        # one accepted row lost between received and loaded
        con.execute("DELETE FROM raw_police WHERE _extract_month = ? AND _row_number = 1", [LATEST])
        lost = ingest_source(con, landing, "police", [])
        assert lost.accounting_errors == [
            f"police {LATEST}: {received} rows received but {received - 1} accepted and 0 "
            "quarantined are in the warehouse."
        ]
        # two copies of another row: one row more in the warehouse than was received
        for _ in range(2):
            con.execute(
                "INSERT INTO raw_police SELECT * FROM raw_police WHERE _extract_month = ? "
                "AND _row_number = 2 LIMIT 1",
                [LATEST],
            )
        twice = ingest_source(con, landing, "police", [])
        assert twice.accounting_errors == [
            f"police {LATEST}: {received} rows received but {received + 1} accepted and 0 "
            "quarantined are in the warehouse."
        ]
