"""A source is its contract (issue 24): a made-up agency, housing (an event source with a
household key and a coded event type with a detail), is added to a temporary copy of the project
by writing only its contract into `data_contracts/`, and is then ingested (rows accepted and
quarantined, every row counted), checked (its expectation suite, built from the contract) and
linked (its events joined to households, its evictions counted as crises) like the six sources
that ship. Nothing else in the copy changes: no Python, no SQL, no stored suite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from hearth.settings import PROJECT_FILES
from tests.support.quality_corpus import MONTHS

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "tests" / "support" / "new_source" / "housing.yaml"
KINDS = ["ARREARS_NOTICE", "REPAIR_REPORTED", "HOMELESS_APPLICATION", "EVICTION"]

# Run inside the copy: everything it imports is the copy's (asserted), nothing is stubbed.
SCRIPT = """
import json, sys
from pathlib import Path

import hearth
copy, landing, db = (Path(a) for a in sys.argv[1:4])
assert Path(hearth.__file__).resolve().is_relative_to(copy), hearth.__file__
from hearth import sources
from hearth.ingest.run import ingest_source
from hearth.linkage.link import link, linkage_by_source
from hearth.quality.contracts import load_contract
from hearth.quality.suite_check import check_accepted_rows
from hearth.warehouse import connect

load_contract("housing")  # the full ODCS check of the new contract
out = {"sources": list(sources.SOURCES), "agencies": list(sources.AGENCIES),
       "roles": list(sources.ROLES), "event_sources": list(sources.EVENT_SOURCES), "ingest": {}}
with connect(db) as con:
    for name in sources.SOURCES:
        report = ingest_source(con, landing, name, sys.argv[4].split(","))
        out["ingest"][name] = {
            "statuses": [r.status for r in report.results],
            "received": sum(r.rows_received for r in report.results),
            "accepted": sum(r.rows_accepted for r in report.results),
            "quarantined": [r.quarantined_by_rule for r in report.results],
            "accounting_errors": report.accounting_errors,
        }
    check = check_accepted_rows(con, "housing")
    out["check"] = {"success": check.summary.success, "rows": check.rows,
                    "months": list(check.months),
                    "rules": sorted(o.rule for o in check.summary.results if o.rule)}
    out["linkage"] = linkage_by_source(link(con))
    out["events"] = con.sql(
        "SELECT event_code, is_crisis, link_status, count(*) FROM linked_events "
        "WHERE source = 'housing' GROUP BY ALL ORDER BY ALL").fetchall()
    out["labels_crises"] = con.sql(
        "SELECT count(*) FROM linked_events WHERE is_crisis AND source = 'housing'"
    ).fetchall()[0][0]
print(json.dumps(out))
"""


def _project_copy(dst: Path) -> Path:
    """The project as a council would have it: its packages and the files they read."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("hearth", *PROJECT_FILES):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=ignore)
        else:
            shutil.copy2(src, dst / name)
    return dst


def _housing_extracts(landing: Path) -> dict[str, int]:
    """Housing extracts for the world's months: events at the register's households, one event
    at a household no register knows, and one row with a code the contract does not allow."""
    households = (
        pl.read_parquet(next((landing / "addresses" / MONTHS[0]).glob("*.parquet")))
        .get_column("household_pid")
        .sort()
        .to_list()
    )
    n, expected = 0, {"valid": 0, "evictions": 0, "unknown_household": 0, "bad_code": 0}
    for m, month in enumerate(MONTHS):
        rows = []
        for i in range(24):
            kind = KINDS[i % 4]
            n += 1
            rows.append(
                {
                    "record_id": f"HS{n:09d}",
                    "household_pid": households[(m * 24 + i) % len(households)],
                    "event_date": f"{month}-{1 + i % 28:02d}",
                    "event_type": kind,
                    "repair_kind": ("DAMP_MOULD", "HEATING")[(i // 4) % 2]
                    if kind == "REPAIR_REPORTED"
                    else None,
                }
            )
            expected["valid"] += 1
            expected["evictions"] += kind == "EVICTION"
        n += 1
        rows.append({**rows[0], "record_id": f"HS{n:09d}", "household_pid": "0" * 64})
        expected["unknown_household"] += 1
        n += 1
        rows.append({**rows[1], "record_id": f"HS{n:09d}", "event_type": "SOLD"})
        expected["bad_code"] += 1
        folder = landing / "housing" / month
        folder.mkdir(parents=True)
        pl.DataFrame(rows).write_csv(folder / f"housing_{month}.csv")
    return expected


@pytest.mark.slow  # ingests every source of the quality world again, in a subprocess
def test_a_source_added_by_its_contract_alone_is_ingested_checked_and_linked(
    quality_world, tmp_path
):
    copy = _project_copy(tmp_path / "project")
    shutil.copy2(CONTRACT, copy / "data_contracts" / "housing.yaml")  # the only change
    landing = tmp_path / "landing"
    shutil.copytree(quality_world.landing, landing)
    expected = _housing_extracts(landing)
    script = tmp_path / "run_new_source.py"
    script.write_text(SCRIPT, encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    for k in ("DAGSTER_HOME", "MLFLOW_TRACKING_URI"):
        env.pop(k, None)
    env |= {"HEARTH_HOME": str(tmp_path / "home"), "PYTHONPATH": str(copy)}
    done = subprocess.run(
        [sys.executable, str(script), str(copy), str(landing), str(tmp_path / "w.duckdb"),
         ",".join(MONTHS)],
        cwd=copy, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    # a source, an event source and an agency (a role), beside the seven that ship
    assert "housing" in out["sources"] and len(out["sources"]) == 8
    assert out["event_sources"][-1] == "housing" and out["agencies"][-1] == "housing"
    assert "housing" in out["roles"]
    # ingested: every month loaded, every row accepted or quarantined, the bad code held back
    housing = out["ingest"]["housing"]
    assert housing["statuses"] == ["loaded"] * len(MONTHS)
    received = expected["valid"] + expected["unknown_household"] + expected["bad_code"]
    assert housing["received"] == received
    assert housing["quarantined"] == [{"unknown_code": 1}] * len(MONTHS)
    assert housing["accepted"] == housing["received"] - expected["bad_code"]
    assert all(not s["accounting_errors"] for s in out["ingest"].values())
    # checked: its suite, built from its contract, over all its months
    assert out["check"]["success"] and out["check"]["rows"] == housing["accepted"]
    assert out["check"]["months"] == list(MONTHS)
    assert "allowed_values:event_type" in out["check"]["rules"], out["check"]["rules"]
    # linked: by its household key; the unknown household kept and counted, never dropped
    link = out["linkage"]["housing"]
    assert link["linked_by"] == {"linked_by_household_key": expected["valid"]}
    assert link["unlinked_by_reason"] == {"unknown_pid": expected["unknown_household"]}
    codes = {code for code, *_ in out["events"]}
    assert "housing:REPAIR_REPORTED:DAMP_MOULD" in codes and "housing:EVICTION" in codes
    # its crises, as its contract declares them (crisisEvents: EVICTION), reach the labels
    crises = {code for code, crisis, *_ in out["events"] if crisis}
    assert crises == {"housing:EVICTION"}
    assert out["labels_crises"] == expected["evictions"]
    # and the sources that ship are unchanged beside it
    for name in ("social_care", "health", "fire", "police"):
        assert out["linkage"][name]["linkage_rate"] > 0.5, name
