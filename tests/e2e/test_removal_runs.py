"""Issue 23 end to end through `hearth run` (hearth/cli/launch.py): a landing that loses a whole
source, or whose clock is set back, stops the run with the loss listed and leaves the warehouse's
accepted rows and @champion as they were; `--allow-missing-sources` goes on with the source's
history (exit 0, no row lost) and says so; `--accept-removals` removes exactly the listed rows
and records it in the audit with the user. The removal planning itself is tested as plain
functions in tests/unit/ingest/test_removals.py; this is the one whole sequence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from hearth.cli.launch import NO_REMOVALS_WAITING, run_pipeline
from hearth.sources import SOURCES
from tests.conftest import QUICK_TRAINING
from tests.support.first_runs import LANDING_CLOCK, private_landing_first_run


@pytest.fixture
def first_run(tmp_path_factory, tmp_path, hearth_home) -> Path:
    """A private copy of the landing world's first run (1,000 households and 26 months, the
    shortest history a run trains on; shared with test_landing_runs.py)."""
    return private_landing_first_run(tmp_path_factory, tmp_path, hearth_home)


def accepted(home: Path) -> dict[str, list[tuple]]:
    """The warehouse's accepted rows table by table, with their quarantine and load log."""
    tables = {
        **{f"raw_{s}": "*" for s in SOURCES},
        "quarantine": "* EXCLUDE (quarantined_at)",
        "ingest_log": "* EXCLUDE (ingested_at)",
    }
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return {t: sorted(con.table(t).select(c).fetchall(), key=repr) for t, c in tables.items()}


def champion(home: Path) -> str | None:
    from hearth.modelling.registry.client import Registry

    return Registry(f"sqlite:///{home / 'mlflow.db'}").aliases().get("champion")


def test_a_source_folder_lost_is_kept_until_an_officer_accepts(first_run, hearth_home, monkeypatch):
    monkeypatch.setenv("HEARTH_CLOCK", LANDING_CLOCK)
    monkeypatch.setenv("DAGSTER_HOME", str(hearth_home / "dagster"))
    landing = first_run  # one run has published from it (with QUICK_TRAINING, on that clock)
    quiet = {"train_config": QUICK_TRAINING, "say": lambda _: None}
    before, champ = accepted(hearth_home), champion(hearth_home)
    fire_rows = len(before["raw_fire"])
    assert fire_rows > 0 and champ is not None

    # nothing to accept yet: refused in a sentence, before any work
    nothing = run_pipeline(landing, accept_removals=True, **quiet)
    assert not nothing.success and nothing.problems == [NO_REMOVALS_WAITING]

    # the clock set back (a restored server): later months are not read, and none is removed
    monkeypatch.setenv("HEARTH_CLOCK", "2025-09-15")
    back = run_pipeline(landing, **quiet)
    assert not back.success
    assert accepted(hearth_home) == before and champion(hearth_home) == champ
    monkeypatch.setenv("HEARTH_CLOCK", LANDING_CLOCK)

    shutil.rmtree(landing / "fire")  # a share that failed to mount
    stopped = run_pipeline(landing, **quiet)
    assert not stopped.success
    [problem] = [p for p in stopped.problems if "removals_accepted" in p]
    assert f"no longer landed; {fire_rows:,} rows accepted" in problem
    assert accepted(hearth_home) == before and champion(hearth_home) == champ
    last = json.loads((hearth_home / "last_run.json").read_text())
    listed = last["removals_pending"]
    assert {r["source"] for r in listed} == {"fire"}
    assert sum(r["rows_accepted"] for r in listed) == fire_rows

    # the flag for a late agency goes on with fire's history, and says so: exit 0, nothing lost
    allowed = run_pipeline(landing, allow_missing_sources=True, **quiet)
    assert allowed.success, allowed.problems
    assert accepted(hearth_home)["raw_fire"] == before["raw_fire"]
    assert any("fire_extract · removals_accepted" in w for w in allowed.warnings)
    summary = json.loads((allowed.output_folder / "run_summary.json").read_text())
    assert {r["source"] for r in summary["removals_pending"]} == {"fire"}
    report = (allowed.output_folder / "report.html").read_text(encoding="utf-8")
    assert "kept though no longer landed" in report

    # the officer accepts: exactly the listed rows go, and the audit says who
    done = run_pipeline(landing, allow_missing_sources=True, accept_removals=True, **quiet)
    assert done.success, done.problems
    after = accepted(hearth_home)
    assert after["raw_fire"] == []
    assert after["quarantine"] == [r for r in before["quarantine"] if r[0] != "fire"]
    assert after["ingest_log"] == [r for r in before["ingest_log"] if r[0] != "fire"]
    for s in SOURCES:
        if s != "fire":
            assert after[f"raw_{s}"] == before[f"raw_{s}"], s
    from hearth.privacy.audit import entries

    [entry] = [e for e in entries() if e["action"] == "removals_accepted"]
    assert entry["detail"]["rows_accepted"] == fire_rows
    assert {r["source"] for r in entry["detail"]["removals"]} == {"fire"}
    assert entry["os_user"]
