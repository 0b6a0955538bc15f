"""Issue 13, point 6: a refusal is about a file; once the file is no longer landed, the refusal
goes with it (a refusal is bookkeeping, not a record: hearth/ingest/removals.py
refusals_not_landed), so the report and run_summary.json stop naming a file that is not there.
On the quality corpus's small world and a real DuckDB file."""

from __future__ import annotations

import shutil

from hearth.warehouse import connect, query
from tests.support.quality_corpus import LATEST, MONTHS
from tests.unit.ingest.test_landing_integrity import extract, load


def refusals(db) -> list[tuple]:
    with connect(db, read_only=True) as con:
        return [(r[0], r[1], r[3]) for r in query(con, "publish/summary_refusals").fetchall()]


def test_a_refusal_of_a_file_no_longer_landed_is_cleared(quality_world, tmp_path, monkeypatch):
    monkeypatch.setenv("HEARTH_CLOCK", "2026-01-15")
    landing = tmp_path / "landing"
    shutil.copytree(quality_world.landing, landing)
    extract(landing, "fire", LATEST).write_bytes(b"\xff\xfe not UTF-8 \x00\x81\n")
    db = tmp_path / "w.duckdb"
    load(landing, db)
    assert [(s, m) for s, m, _ in refusals(db)] == [("fire", LATEST)]
    shutil.rmtree(landing / "fire" / LATEST)  # the agency takes the bad file back
    load(landing, db, months=MONTHS)
    assert refusals(db) == []
