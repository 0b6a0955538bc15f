"""Retention through a whole run (issue 22): the small world (36 months to 2025-12) with its
retention shortened to 30 months on 2026-01-10 keeps no record from before 2023-07 in any table
of the committed warehouse; run_summary.json, the report and the console count what went; an
old published folder goes at the commit, the new one stays."""

from __future__ import annotations

import json

import duckdb

from hearth.cli.launch import run_pipeline
from hearth.cli.runs import _retention_line
from hearth.sources import EVENT_SOURCES, SOURCES
from tests.conftest import QUICK_TRAINING

CUTOFF = "2023-07-01"


def test_a_run_deletes_what_its_contracts_no_longer_allow(small_world, hearth_home, monkeypatch):
    monkeypatch.setenv("HEARTH_RETENTION_MONTHS", "30")
    monkeypatch.setenv("HEARTH_CLOCK", "2026-01-10")
    old = hearth_home / "outputs" / "2019-01"  # a list published long ago
    old.mkdir(parents=True)
    (old / "ranked_households.csv").write_text("rank\n1\n")
    outcome = run_pipeline(small_world / "landing", train_config=QUICK_TRAINING, say=lambda _: None)
    assert outcome.success, outcome.problems

    con = duckdb.connect(str(hearth_home / "warehouse.duckdb"), read_only=True)
    try:
        for source in EVENT_SOURCES:
            n = con.execute(f"SELECT count(*) FROM raw_{source} WHERE event_date < '{CUTOFF}'")
            assert n.fetchall()[0][0] == 0, source
        for table in ("events", "linked_events"):
            n = con.execute(f"SELECT count(*) FROM {table} WHERE event_date < '{CUTOFF}'")
            assert n.fetchall()[0][0] == 0, table
        n = con.execute("SELECT count(*) FROM quarantine WHERE extract_month < '2023-07'")
        assert n.fetchall()[0][0] == 0
        n = con.execute(f"SELECT count(*) FROM residence WHERE valid_to < '{CUTOFF}'")
        assert n.fetchall()[0][0] == 0
        logged = con.execute(
            "SELECT source, sum(rows) FROM retention_log WHERE kind = 'accepted' GROUP BY ALL"
        ).fetchall()
    finally:
        con.close()

    summary = json.loads((outcome.output_folder / "run_summary.json").read_text())
    retention = summary["retention"]
    assert retention["shortened_by"] == "HEARTH_RETENTION_MONTHS"
    went = {s: v["accepted_rows_deleted"] for s, v in retention["sources"].items()}
    assert set(went) == set(SOURCES)
    assert dict(logged) == {s: n for s, n in went.items() if n}
    assert all(went[s] > 0 for s in EVENT_SOURCES), went
    assert "2019-01" in retention["files_deleted"]
    assert not old.exists() and outcome.output_folder.exists()
    # every received row is still accounted for: what retention deleted is counted, not lost
    assert all(s["balanced"] for s in summary["sources"].values())
    report = (outcome.output_folder / "report.html").read_text()
    assert 'id="retention-table"' in report and f"{went['police']:,}" in report
    line = _retention_line(outcome.output_folder)
    assert f"police {went['police']:,} rows" in line, line
    print(
        f"retention deleted: {went}; quarantined: "
        f"{ {s: v['quarantined_rows_deleted'] for s, v in retention['sources'].items()} }"
    )
