"""`hearth quarantine list|show`, releasing rows by re-landing a corrected file, idempotent
re-landing, and freshness (which sources are late or missing)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from hearth.cli.app import app
from hearth.ingest.freshness import assess, expected_month, freshness_report
from hearth.ingest.landing import Extract
from hearth.ingest.load import ingest_extract
from hearth.publish.summary import freshness
from hearth.quality.contracts import load_contract
from hearth.warehouse import connect
from tests.support.quality_corpus import LATEST, build, case

CASES = ("unknown_codes", "future_dates", "missing_detail")


@pytest.fixture
def warehouse(quality_world, hearth_home, tmp_path):
    """HEARTH_HOME's warehouse with three corpus extracts loaded, rows quarantined."""
    landing = tmp_path / "landing"
    path = hearth_home / "warehouse.duckdb"
    with connect(path) as con:
        for name in CASES:
            c = case(name)
            f = build(c, quality_world, landing)
            r = ingest_extract(con, load_contract(c.source), Extract(c.source, c.month, f))
            assert r.status == "loaded" and r.quarantined_by_rule == c.expect.quarantined
    return path


def cli(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_list_counts_by_source_month_and_rule(warehouse, quality_world):
    out = cli("quarantine", "list", "--json")
    assert out.exit_code == 0, out.output
    rows = {(r["source"], r["month"], r["rule"], r["column"]): r for r in json_lines(out.output)}
    assert {k: r["rows"] for k, r in rows.items()} == {
        ("fire", LATEST, "unknown_code", "cause"): 2,
        ("health", LATEST, "future_date", "event_date"): 4,
        ("police", LATEST, "missing_required_detail", "risk_level"): 2,
    }
    assert rows[("fire", LATEST, "unknown_code", "cause")]["rows_received"] == quality_world.rows(
        "fire"
    )
    only_fire = json_lines(cli("quarantine", "list", "--json", "--source", "fire").output)
    assert [r["source"] for r in only_fire] == ["fire"]
    assert json_lines(cli("quarantine", "list", "--json", "--month", "2025-11").output) == []
    table = cli("quarantine", "list")
    assert table.exit_code == 0
    assert "unknown_code" in table.output and "8 rows in 3 extract(s)" in table.output


def test_show_gives_rows_as_received_with_rule_and_column(warehouse):
    out = cli("quarantine", "show", "--source", "fire", "--month", LATEST, "--json")
    assert out.exit_code == 0, out.output
    rows = json_lines(out.output)
    assert [(r["row"], r["rule"], r["column"]) for r in rows] == [
        (1, "unknown_code", "cause"),
        (2, "unknown_code", "cause"),
    ]
    # a code not on the contract's list is not of the column's declared shape: withheld,
    # described by its shape and fingerprint, never shown
    cause = rows[0]["values"]["cause"]
    assert cause.startswith("[withheld: 15 characters: capital letters, underscores; fingerprint ")
    assert "ARSON" not in out.output
    assert len(rows[0]["values"]["household_pid"]) == 64  # pseudonymised, as received
    limited = cli("quarantine", "show", "--source", "health", "--month", LATEST, "--limit", "1")
    assert limited.exit_code == 0
    assert "Showing 1 of 4 rows" in limited.output and "future_date" in limited.output
    assert "2026-02-14" in limited.output
    none = cli(
        "quarantine", "show", "--source", "health", "--month", LATEST, "--rule", "duplicate_row"
    )
    assert "No quarantined rows for health 2025-12 under rule duplicate_row" in none.output


def test_bad_arguments_are_sentences(warehouse, hearth_home):
    bad = cli("quarantine", "show", "--source", "ambulance", "--month", LATEST)
    assert bad.exit_code == 2 and "'ambulance' is not a source" in bad.output
    bad = cli("quarantine", "show", "--source", "fire", "--month", "Dec-25")
    assert bad.exit_code == 2 and "give it as YYYY-MM" in bad.output
    bad = cli("quarantine", "show", "--source", "fire", "--month", LATEST, "--rule", "nope")
    assert bad.exit_code == 2 and "is not a row rule" in bad.output
    warehouse.unlink()
    missing = cli("quarantine", "list")
    assert missing.exit_code == 2 and "run `hearth run` first" in missing.output


def test_a_corrected_file_releases_the_month(warehouse, quality_world, tmp_path):
    """Releasing = landing a corrected file: it replaces the month, quarantine included."""
    c = case("unknown_codes")
    landed = tmp_path / "landing" / "fire" / LATEST / "fire_2025-12.csv"
    shutil.copyfile(quality_world.path("fire", LATEST), landed)  # the agency's corrected file
    with connect(warehouse) as con:
        r = ingest_extract(con, load_contract("fire"), Extract("fire", LATEST, landed))
        assert r.status == "loaded" and r.rows_quarantined == 0
        assert r.rows_accepted == quality_world.rows("fire")
        # the same bytes again: nothing is read or counted twice
        again = ingest_extract(con, load_contract("fire"), Extract("fire", LATEST, landed))
        assert again.status == "unchanged"
        assert (again.rows_received, again.rows_accepted) == (r.rows_received, r.rows_accepted)
        log = con.execute(
            "SELECT rows_received, rows_accepted, rows_quarantined FROM ingest_log "
            "WHERE source = 'fire'"
        ).fetchall()
        raw = con.execute("SELECT count(*) FROM raw_fire").fetchone()[0]
    assert log == [(r.rows_received, r.rows_received, 0)] and raw == r.rows_received
    rows = json_lines(cli("quarantine", "list", "--json").output)
    assert {x["source"] for x in rows} == {"health", "police"}
    assert c.source not in {x["source"] for x in rows}


def test_freshness_statuses():
    assert expected_month("2026-01", ["2025-10"]) == "2025-12"
    assert expected_month(None, ["2025-10", "2025-11"]) == "2025-11"
    current = assess("fire", "2025-12", "2025-12")
    late = assess("health", "2025-10", "2025-12")
    missing = assess("police", None, "2025-12")
    assert (current.status, late.status, missing.status) == ("current", "late", "missing")
    assert late.months_behind == 2 and late.due_by == "2026-01-10"  # 10 days, the contract
    assert late.sentence() == (
        "health: no extract for 2025-12 (due by 2026-01-10); the newest is 2025-10, "
        "2 months behind."
    )
    assert missing.sentence().startswith("police: no extract has been landed")
    report = freshness_report({"fire": "2025-12", "health": "2025-10"}, "2025-12")
    assert report["stale_sources"] == ["addresses", "people", "social_care", "health", "police"]
    assert len(report["problems"]) == 5


def test_run_summary_freshness_section(warehouse):
    with connect(warehouse) as con:
        section = freshness(con, "2026-01")
    assert section["expected_month"] == "2025-12"
    assert section["sources"]["fire"]["status"] == "current"
    assert section["sources"]["addresses"]["status"] == "missing"
    assert section["stale_sources"] == ["addresses", "people", "social_care"]
