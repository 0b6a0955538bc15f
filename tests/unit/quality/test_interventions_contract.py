"""The interventions source (issue 26), added the new way: its contract is all there is. It is
landed, checked and kept like an event, but never linked into features and never a crisis; its
agency codes are the partnership's agencies; until its first extract lands it stops no run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from hearth.features.catalogue import load_catalogue
from hearth.ingest.freshness import assess
from hearth.sources import (
    AGENCIES,
    EVENT_SOURCES,
    INTERVENTION_SOURCES,
    ROLES,
    SOURCES,
    SourceError,
    _read,
    check_agency_columns,
    crisis_pattern,
)

CONTRACT = Path(__file__).resolve().parents[3] / "data_contracts" / "interventions.yaml"


def test_a_source_of_its_own_kind_never_a_feature_or_a_crisis():
    src = SOURCES["interventions"]
    assert INTERVENTION_SOURCES == ("interventions",) and "interventions" not in EVENT_SOURCES
    assert src.kind == "intervention" and src.dated and src.household_key == "household_pid"
    assert src.agency is None and list(ROLES) == ["commissioner", *AGENCIES]  # no new role
    assert "interventions" not in crisis_pattern()
    cat = load_catalogue()
    assert not any("interventions" in str(f) for f in cat.features)
    assert src.codes["agency"] == AGENCIES and src.agency_column == "agency"


def test_until_its_first_extract_it_stops_no_run():
    waiting = assess("interventions", None, "2026-01")
    assert waiting.status == "not_started" and not waiting.stale
    assert "not started" in waiting.sentence()
    assert assess("police", None, "2026-01").stale  # the agencies' extracts are still needed
    late = assess("interventions", "2025-10", "2026-01")
    assert late.status == "late" and late.stale  # once started, it is due like any other


def _broken(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(CONTRACT.read_text())
    change(data)
    path = tmp_path / "interventions.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _column(data: dict, name: str) -> dict:
    return next(p for p in data["schema"][0]["properties"] if p["name"] == name)


def test_an_intervention_cannot_be_made_a_feature_or_a_crisis(tmp_path):
    def as_feature(d):
        _column(d, "offer_type")["customProperties"].append(
            {"property": "eventCode", "value": "kind"}
        )

    with pytest.raises(SourceError, match="never a feature or a crisis"):
        _read(_broken(tmp_path, as_feature), ("intervention",))

    def no_household(d):
        cp = _column(d, "household_pid")["customProperties"]
        cp[:] = [p for p in cp if p["property"] != "linkKey"]

    with pytest.raises(SourceError, match="household key"):
        _read(_broken(tmp_path, no_household), ("intervention",))


def test_agency_codes_must_be_agencies_the_event_sources_declare(tmp_path):
    read = list(SOURCES.values())
    check_agency_columns(read, tmp_path)  # as the contracts are
    src = SOURCES["interventions"]
    others = [s for s in read if s.name != "interventions"]
    # fewer is allowed: a source added by its contract alone makes no offers until agreed
    fewer = dataclasses.replace(src, codes={**src.codes, "agency": AGENCIES[:-1]})
    check_agency_columns([*others, fewer], tmp_path)
    stranger = dataclasses.replace(src, codes={**src.codes, "agency": (*AGENCIES, "housing")})
    with pytest.raises(SourceError, match=r"marked agencyCode.*1 code\(s\) are not"):
        check_agency_columns([*others, stranger], tmp_path)
    none = dataclasses.replace(src, codes={**src.codes, "agency": ()})
    with pytest.raises(SourceError, match="marked agencyCode"):
        check_agency_columns([*others, none], tmp_path)
