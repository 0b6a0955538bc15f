"""The quality gate inside `hearth run`, end to end through Dagster: a blocking check stops the
run with one sentence per problem and a non-zero exit, the last published outputs stay as they
were, the offending value is written nowhere under HEARTH_HOME, and a source that is behind
stops the run unless missing sources are allowed."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from hearth.cli.app import app
from hearth.publish.outputs import publish_atomically
from pipelines.launch import run_pipeline
from tests.support.quality_corpus import LATEST, MONTHS, build, case, secret_of
from tests.unit.ingest.test_quality_gate import warehouse_text

OLDER = MONTHS[:-2]


@pytest.fixture
def broken_landing(quality_world, tmp_path) -> Path:
    """The valid world with NHS numbers in police's newest extract (refused), unknown codes in
    fire's (quarantined) and social care's newest missing."""
    landing = tmp_path / "landing"
    # two months keep the run short: the newest, and the one before it
    shutil.copytree(quality_world.landing, landing, ignore=shutil.ignore_patterns(*OLDER))
    build(case("nhs_number_spaced"), quality_world, landing)  # overwrites police 2025-12
    build(case("unknown_codes"), quality_world, landing)  # overwrites fire 2025-12
    shutil.rmtree(landing / "social_care" / LATEST)
    return landing


@pytest.fixture
def home(hearth_home, monkeypatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(hearth_home / "dagster"))
    return hearth_home


def snapshot(folder: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        if p.is_symlink():
            out[key] = "-> " + str(p.readlink())
        elif p.is_file():
            out[key] = p.read_bytes()
    return out


def files_holding(root: Path, value: str) -> list[str]:
    needle = value.encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_blocking_check_stops_the_run(broken_landing, home, quality_world):
    def previous(folder: Path) -> None:
        (folder / "ranked_households.csv").write_text("rank,household_pid\n")
        (folder / "run_summary.json").write_text('{"as_of": "2025-12"}\n')

    publish_atomically(home / "outputs", "2025-12", previous)
    before = snapshot(home / "outputs")

    result = CliRunner().invoke(app, ["run", "--landing", str(broken_landing)])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    assert "The run stopped. Nothing was published; the last outputs are as they were." in text
    assert (
        "[police_extract · no_raw_identifiers] police: file police/2025-12/police_2025-12.csv, "
        "column 'person_pid' holds what looks like an NHS number in 3 rows; the extract was "
        "not loaded." in text
    )
    assert (
        "[social_care_extract · extract_present] social_care: no extract for 2025-12 (due by "
        "2026-01-10); the newest is 2025-11, 1 month behind. The run stops unless missing "
        "sources are allowed" in text
    )
    assert text.count(" • ") == 2
    # the quality gate stopped the run after every extract had reported; nothing downstream ran
    assert "FAILED quality gate" in text and "running linked events" not in text

    assert snapshot(home / "outputs") == before
    secret = secret_of(case("nhs_number_spaced"), quality_world)
    assert secret not in result.output
    # not in last_run.json, the warehouse, Dagster's event log and compute logs, or anywhere
    assert (home / "last_run.json").is_file()
    assert files_holding(home, secret) == []
    assert files_holding(home, secret.replace(" ", "")) == []
    # a code not on the contract's list is not of its column's declared shape: the two rows
    # are quarantined with the code withheld (its shape kept), and it is nowhere in the home
    code = secret_of(case("unknown_codes"), quality_world)
    assert code not in result.output
    assert files_holding(home, code) == []
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        held = con.execute(
            "SELECT count(*) FROM quarantine WHERE source = 'fire' AND row_json LIKE ?",
            ["%[withheld: 15 characters: capital letters, underscores; fingerprint %"],
        ).fetchone()[0]
        assert held == 2
        assert code not in warehouse_text(con)


def test_missing_sources_can_be_allowed(broken_landing, home):
    lines: list[str] = []
    outcome = run_pipeline(broken_landing, allow_missing_sources=True, say=lines.append)
    assert not outcome.success
    # social care being behind no longer stops the run; police's raw identifiers still do
    assert [p.split("]")[0] for p in outcome.problems] == ["[police_extract · no_raw_identifiers"]
    # ...and is still not a passed check: a warning on the Checks tab, for this run as for the
    # landing sensor's
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        found = {
            (d.asset_key.to_user_string(), d.check_name): d
            for d in (
                e.dagster_event.event_specific_data
                for e in instance.all_logs(
                    outcome.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
                )
            )
        }
    present = found[("social_care_extract", "extract_present")]
    assert (present.passed, present.severity) == (False, dg.AssetCheckSeverity.WARN)
    # police's expectations ran on what was accepted before, and say why its month is not there
    police = found[("police_extract", "expectations")]
    assert police.passed
    assert "A file of the run was refused (no_raw_identifiers) and not loaded" in (
        police.description
    )
    # the quality gate names only what stops the run
    (failure,) = [
        e for e in instance_failures(home, outcome.run_id) if e.step_key == "quality_gate"
    ]
    text = failure.step_failure_data.user_failure_data.description
    assert "police: file police/2025-12/police_2025-12.csv" in text and "social_care" not in text


def instance_failures(home: Path, run_id: str) -> list:
    """The failed steps of a run, read back from the HEARTH_HOME's Dagster instance."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        return [
            e.dagster_event
            for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        ]
