"""Runs launched from Dagster stop on a missing source by default, like `hearth run`.

- A run launched with no run config (the UI's launchpad, left as it is) resolves
  `run_settings.allow_missing_sources` to False, and really stops at `extract_present`.
- The monthly schedule, the only automatic run that trains and publishes, asks for no other
  setting: its run resolves to False.
- The landing sensor's run for one month resolves to False. Its catch-up run over a range of
  months allows missing sources, by design (a first load of years of history in which one
  source started later is not an error while loading), but that run only loads and checks the
  extracts: nothing downstream of ingest (linkage, features, models, publishing) is in it. The
  schedule waits until every source has sent the newest month, and its run judges every source
  again without the allowance.

Real Dagster definitions, test contexts and an in-process run; no mocks."""

from __future__ import annotations

import inspect
import os
import time
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from hearth.definitions import defs
from hearth.defs.operations.schedules import monthly_publish
from hearth.defs.operations.sensors import landing_sensor
from hearth.defs.resources import LandingResource, OutputsResource
from hearth.sources import SOURCES

PAST = time.time() - 3600  # older than the sensor's settling time
EXTRACTS = {f"{s}_extract" for s in SOURCES}


@pytest.fixture(scope="module")
def job() -> dg.JobDefinition:
    return defs().resolve_job_def("hearth_full_run")


def land(landing: Path, source: str, month: str) -> None:
    path = landing / source / month / f"{source}_{month}.{SOURCES[source].file_format}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a,b\n1,2\n")
    os.utime(path, (PAST, PAST))


def allows_missing(job: dg.JobDefinition, run_config) -> bool:
    """The setting a run with this run config gets, defaults filled in by Dagster."""
    resolved = dg.validate_run_config(job, run_config)
    return resolved["resources"]["run_settings"]["config"]["allow_missing_sources"]


def selected_assets(job: dg.JobDefinition, selection) -> set[str]:
    """The assets a run request's selection materialises (None: the whole job)."""
    sub = job if selection is None else job.get_subset(asset_selection=set(selection))
    return {k.to_user_string() for k in sub.asset_layer.selected_asset_keys}


def test_a_run_launched_with_no_config_does_not_allow_missing_sources(job):
    assert allows_missing(job, None) is False
    assert allows_missing(job, {}) is False
    # ...as `hearth run` without --allow-missing-sources
    from hearth.cli.app import run
    from hearth.cli.launch import run_pipeline

    assert inspect.signature(run_pipeline).parameters["allow_missing_sources"].default is False
    assert inspect.signature(run).parameters["allow_missing_sources"].default is False


def test_a_run_launched_with_no_config_stops_on_a_missing_source(job, hearth_home):
    """Fire sent November 2025 but not December: the run for December, launched with no run
    config, fails at fire's blocking extract_present check with an ERROR, saying why."""
    land(hearth_home / "landing", "fire", "2025-11")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            partition_key="2025-12",
            asset_selection=[dg.AssetKey("fire_extract")],
            raise_on_error=False,
        )
    assert not result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    present = checks["extract_present"]
    assert present.passed is False and present.severity == dg.AssetCheckSeverity.ERROR
    assert "fire: no extract for 2025-12" in present.description
    assert "The run stops unless missing sources are allowed" in present.description
    # the quality gate stopped it, after the extract's checks had all reported
    assert [e.step_key for e in result.get_step_failure_events()] == ["quality_gate"]
    # every other check on the extract passed: the missing month alone stopped the run
    assert {n for n, e in checks.items() if not e.passed} == {"extract_present"}


def _run_failure(instance: dg.DagsterInstance, run_id: str):
    """The run's failure as Dagster stored it: what the run's page leads with."""
    (entry,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return entry.dagster_event


def test_the_stored_run_failure_holds_every_problems_sentence(job, hearth_home):
    """Two sources wrong at once (fire behind, police never sent): Dagster's stored run failure
    names both, in Hearth's sentences, not a check's class name; and `hearth run`'s reading of
    the run finds each problem once."""
    from hearth.operations.alerts import stop_from_instance

    land(hearth_home / "landing", "fire", "2025-11")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            partition_key="2025-12",
            asset_selection=[dg.AssetKey("fire_extract"), dg.AssetKey("police_extract")],
            raise_on_error=False,
        )
        assert not result.success
        failure = _run_failure(instance, result.run_id)
        stop = stop_from_instance(instance, result.run_id)
    error = failure.event_specific_data.error
    assert error is not None
    text = error.message
    assert "The run stopped on 2 problems in the extracts" in text
    assert "[fire_extract · extract_present] fire: no extract for 2025-12" in text
    assert "[police_extract · extract_present] police: no extract has been landed" in text
    assert "DagsterAssetCheckFailedError" not in text
    # the checks report each problem; the gate's failure is not counted again
    assert [(a, c) for a, c, _ in stop.checks] == [
        ("fire_extract", "extract_present"),
        ("police_extract", "extract_present"),
    ]
    assert stop.steps == []


def test_a_missing_source_the_run_allows_is_a_warning_not_a_pass(job, hearth_home):
    """The landing sensor's catch-up run (and `hearth run --allow-missing-sources`) goes on
    without fire's December, and says so: extract_present failed with WARN severity, never
    passed; nothing else stops the run."""
    land(hearth_home / "landing", "fire", "2025-11")
    allowing = {"resources": {"run_settings": {"config": {"allow_missing_sources": True}}}}
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            run_config=allowing,
            partition_key="2025-12",
            asset_selection=[dg.AssetKey("fire_extract")],
            raise_on_error=False,
        )
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    present = checks["extract_present"]
    assert present.passed is False and present.severity == dg.AssetCheckSeverity.WARN
    assert "fire: no extract for 2025-12" in present.description
    assert "Going on without it: missing sources are allowed for this run." in present.description
    assert {n for n, e in checks.items() if not e.passed} == {"extract_present"}


def _schedule(landing: Path, outputs: Path):
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 1, 7, 6, 0),
            resources={
                "landing": LandingResource(path=str(landing)),
                "outputs": OutputsResource(path=str(outputs)),
            },
        ) as ctx,
    ):
        return monthly_publish(ctx)


def test_the_schedules_publishing_run_does_not_allow_missing_sources(job, hearth_home):
    landing = hearth_home / "landing"
    for s in SOURCES:
        land(landing, s, "2025-11")
        land(landing, s, "2025-12")
    req = _schedule(landing, hearth_home / "outputs")
    assert isinstance(req, dg.RunRequest)
    assert allows_missing(job, req.run_config) is False
    # the whole graph: it loads, trains and publishes
    assert {"published_outputs", "champion_model"} | EXTRACTS <= selected_assets(
        job, req.asset_selection
    )


def _sensor(landing: Path) -> list[dg.RunRequest]:
    ctx = dg.build_sensor_context(resources={"landing": LandingResource(path=str(landing))})
    return landing_sensor(ctx).run_requests


def test_the_sensors_run_for_one_month_does_not_allow_missing_sources(job, hearth_home):
    landing = hearth_home / "landing"
    land(landing, "health", "2025-12")
    (req,) = _sensor(landing)
    assert req.partition_key == "2025-12"
    assert allows_missing(job, req.run_config) is False
    assert selected_assets(job, req.asset_selection) == {"health_extract"}


def test_the_sensors_catch_up_run_allows_missing_sources_but_only_loads(job, hearth_home):
    """Five months land at once (more than the sensor runs one by one) and police has not sent
    the newest: one run over the range that goes on without police's December, with nothing in
    it past ingest; and the schedule does not publish until police's December is in."""
    landing = hearth_home / "landing"
    for month in ("2025-08", "2025-09", "2025-10", "2025-11", "2025-12"):
        for s in SOURCES:
            if not (s == "police" and month == "2025-12"):
                land(landing, s, month)
    (req,) = _sensor(landing)
    assert req.partition_key is None
    assert req.tags["dagster/asset_partition_range_start"] == "2025-08"
    assert req.tags["dagster/asset_partition_range_end"] == "2025-12"
    assert allows_missing(job, req.run_config) is True
    assert selected_assets(job, req.asset_selection) == EXTRACTS
    waiting = _schedule(landing, hearth_home / "outputs")
    assert isinstance(waiting, dg.SkipReason)
    assert "Waiting for the 2025-12 extract from police" in waiting.skip_message
