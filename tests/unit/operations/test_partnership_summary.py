"""The partnership's run summary (hearth/operations/partnership.py): an authority whose run
stops is named with its own sentences, and an authority run alone later keeps the others' last
outcomes, marked as earlier. Each run is a real `hearth run` in the authority's own home; here
its landing is missing, so each stops at once."""

from __future__ import annotations

import json

import pytest

from hearth import settings
from hearth.linkage.partnership import PartnershipError, route
from hearth.operations.partnership import (
    authority_environment,
    run_authorities,
    run_partnership,
)


def test_a_stopped_authority_is_named_and_an_authority_run_alone_keeps_the_others(hearth_home):
    runs = run_authorities(["E06000901", "E06000902"], jobs=2, say=lambda _: None)
    assert [r.published for r in runs] == [False, False]
    assert all(any("does not exist" in line for line in r.why) for r in runs)
    summary_path = settings.partnership_dir() / "run_summary.json"
    first = json.loads(summary_path.read_text())
    assert first["stopped"] == ["E06000901", "E06000902"] and first["published"] == []
    run_authorities(["E06000902"], jobs=1, say=lambda _: None)
    again = json.loads(summary_path.read_text())
    flags = {r["authority"]: r["this_run"] for r in again["authorities_runs"]}
    assert flags == {"E06000901": False, "E06000902": True}


def test_an_authority_runs_in_its_own_home_only(hearth_home, monkeypatch):
    monkeypatch.setenv("HEARTH_WAREHOUSE", str(hearth_home / "elsewhere.duckdb"))
    monkeypatch.setenv("HEARTH_CLOCK", "2026-01-15")
    env = authority_environment("E06000903")
    assert env["HEARTH_HOME"] == str(hearth_home / "authorities" / "E06000903")
    assert "HEARTH_WAREHOUSE" not in env and env["HEARTH_CLOCK"] == "2026-01-15"
    with pytest.raises(ValueError, match="ONS code"):
        authority_environment("../E06000903")


def test_an_authority_not_in_the_lookup_is_refused_before_any_work(tmp_path):
    (tmp_path / "landing" / "reference").mkdir(parents=True)
    (tmp_path / "landing" / "reference" / "areas.csv").write_text(
        "area_code,area_type,area_name\nE06000901,LA,Northmoor\n"
    )
    with pytest.raises(PartnershipError, match="E06000999 is not an authority"):
        route(tmp_path / "landing", tmp_path / "a", tmp_path / "r.duckdb", only=["E06000999"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "r.duckdb").exists()


def test_a_file_of_the_partnership_landing_that_is_not_read_runs_no_authority(hearth_home):
    landing = hearth_home / "landing"
    (landing / "reference").mkdir(parents=True)
    (landing / "reference" / "areas.csv").write_text(
        "area_code,area_type,area_name\nE06000901,LA,Northmoor\n"
    )
    (landing / "police" / "2025-12").mkdir(parents=True)
    (landing / "police" / "2025-12" / "police.xlsx").write_bytes(b"PK\x03\x04 a workbook")
    routing, runs = run_partnership(landing, say=lambda _: None)
    assert runs == [] and len(routing.blocking) == 1
    assert "police/2025-12/police.xlsx" in routing.blocking[0]
    assert not (settings.partnership_dir() / "run_summary.json").exists()
    routed = json.loads((settings.partnership_dir() / "routing.json").read_text())
    assert routed["blocking"] == routing.blocking
