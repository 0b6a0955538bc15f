"""The partnership's Dagster job (hearth/defs/operations/partnership.py), launched as `hearth
partnership run` launches it, with a real instance: one step per authority, whose stopping is
recorded while the run goes on to the summary, two of them at once on the multiprocess
executor; an authority run alone keeps the others' last
outcomes; a landing file no authority can be given runs no authority. Each authority's step runs
a real `hearth run` in its own home; here its landing is missing, so each stops at once."""

from __future__ import annotations

import json
from pathlib import Path

from hearth import settings
from hearth.cli.partnership import run_authorities, run_partnership
from tests.support.step_events import launched_together

AREAS = "area_code,area_type,area_name\nE06000901,LA,Northmoor\nE06000902,LA,Southmoor\n"


def _landing(home: Path) -> Path:
    landing = home / "landing"
    (landing / "reference").mkdir(parents=True)
    (landing / "reference" / "areas.csv").write_text(AREAS)
    return landing


def _step_events(run_id: str) -> dict[str, list[str]]:
    import dagster as dg

    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.STEP_SKIPPED,
    }
    out: dict[str, list[str]] = {}
    for rec in dg.DagsterInstance.get().all_logs(run_id, of_type=kinds):
        out.setdefault(rec.step_key, []).append(rec.dagster_event.event_type_value)
    return out


def test_a_stopped_authority_is_named_and_an_authority_run_alone_keeps_the_others(hearth_home):
    landing = _landing(hearth_home)
    names = ["E06000901", "E06000902"]
    runs = run_authorities(names, landing, jobs=2, executor="multiprocess", say=lambda _: None)
    assert [r.authority for r in runs] == names
    assert [r.published for r in runs] == [False, False]
    assert all(any("does not exist" in line for line in r.why) for r in runs)
    summary_path = settings.partnership_dir() / "run_summary.json"
    first = json.loads(summary_path.read_text())
    assert first["stopped"] == names and first["published"] == []
    assert not first["model"]["retrained"] and first["model"]["champion_version"] is None
    # one Dagster run: a step per authority, each ended as a step (its outcome recorded), the
    # model's step ran on, nothing scored (no model), the summary written and the run failed
    steps = _step_events(first["run_id"])
    assert steps["prepare_authority[E06000901]"] == ["STEP_START", "STEP_SUCCESS"]
    assert steps["prepare_authority[E06000902]"] == ["STEP_START", "STEP_SUCCESS"]
    assert steps["partnership_model"] == ["STEP_START", "STEP_SUCCESS"]
    assert not any(k.startswith("score_authority") for k in steps)
    assert steps["partnership_summary"] == ["STEP_START", "STEP_FAILURE"]
    # Dagster's multiprocess executor launched the two authorities' steps side by side: both
    # before either ended, in the run's own event order (with `--jobs 1`, one then the other).
    # Not by their spans in time: here each step ends in about a second, less than starting
    # the next subprocess can take on a loaded machine
    together = launched_together(hearth_home / "dagster", first["run_id"], "prepare_authority[")
    assert sorted(together) == [f"prepare_authority[{a}]" for a in names], together

    run_authorities(["E06000902"], landing, executor="in_process", say=lambda _: None)
    again = json.loads(summary_path.read_text())
    flags = {r["authority"]: r["this_run"] for r in again["authorities_runs"]}
    assert flags == {"E06000901": False, "E06000902": True}
    assert again["run_id"] != first["run_id"]


def test_a_file_of_the_partnership_landing_that_is_not_read_runs_no_authority(hearth_home):
    landing = _landing(hearth_home)
    (landing / "police" / "2025-12").mkdir(parents=True)
    (landing / "police" / "2025-12" / "police.xlsx").write_bytes(b"PK\x03\x04 a workbook")
    said: list[str] = []
    routing, runs = run_partnership(landing, executor="in_process", say=said.append)
    assert runs == [] and len(routing.blocking) == 1
    assert "police/2025-12/police.xlsx" in routing.blocking[0]
    assert routing.blocking[0] in said
    assert not (settings.partnership_dir() / "run_summary.json").exists()
    routed = json.loads((settings.partnership_dir() / "routing.json").read_text())
    assert routed["blocking"] == routing.blocking
