"""Sensors: a run for each new or changed extract month, and an alert when a run stops.

Both are evaluated by Dagster's daemon, which `hearth ui` (dagster dev) starts; both are on by
default and can be switched off under Automation in the Dagster UI."""

import dagster as dg

from hearth import settings
from hearth.defs.resources import LandingResource
from hearth.defs.tags import PARTITION_NAME, PARTITION_RANGE_END, PARTITION_RANGE_START
from hearth.operations.alerts import alert_stopped_run, stop_from_instance
from hearth.operations.watch import (
    drop_loaded,
    dump_cursor,
    load_cursor,
    loaded_extracts,
    plan_runs,
    scan_landing,
)

JOB = "hearth_full_run"
TRIGGER_TAG = "hearth/trigger"


def _ingest_selection(sources) -> list[dg.AssetKey]:
    """The extract assets of these sources; every check on them (batch checks, expectation
    suites) comes with them, as no check selection is given."""
    return [dg.AssetKey(f"{s}_extract") for s in sources]


@dg.sensor(
    job_name=JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Watches the landing folder (HEARTH_LANDING, default HEARTH_HOME/landing). For each "
        "extract month with a new or changed file it starts a run that loads and checks just "
        "those files (the month's partition of their sources' extract assets), so a problem is "
        "caught - and alerted - the day the file lands. It keeps each file's size, modification "
        "time and sha256 (in HEARTH_HOME/landing_sensor; the cursor names the state) and leaves "
        "out files the warehouse already holds: a file is never sent to a run twice. Training and "
        "publishing are the monthly schedule's job."
    ),
)
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingResource):
    folder = landing.resolved()
    if not folder.is_dir():
        return dg.SkipReason(f"The landing folder {folder} does not exist yet.")
    before = load_cursor(context.cursor)
    scan = scan_landing(folder, before)
    for note in scan.notes:
        context.log.warning(note)
    if scan.removed:
        context.log.info(f"No longer landed (ignored): {', '.join(scan.removed)}")
    if scan.changed:
        done = drop_loaded(scan, folder, loaded_extracts(settings.warehouse_path()))
        if done:
            context.log.info(
                f"Already loaded with the same bytes (not sent to a run): {len(done)} extract(s), "
                f"{done[0]}{' ...' if len(done) > 1 else ''}"
            )
    changed = _known_months(context, scan, before)
    requests = []
    for plan in plan_runs(changed):
        assets = _ingest_selection(plan.sources)
        tags = {TRIGGER_TAG: "landing_sensor"}
        if plan.single:
            requests.append(
                dg.RunRequest(
                    run_key=plan.run_key,
                    job_name=JOB,
                    partition_key=plan.months[0],
                    asset_selection=assets,
                    tags=tags,
                )
            )
        else:
            # a first load or a catch-up: one run over the range, as `hearth run` does
            tags |= {
                PARTITION_RANGE_START: plan.months[0],
                PARTITION_RANGE_END: plan.months[-1],
            }
            requests.append(
                dg.RunRequest(
                    run_key=plan.run_key,
                    job_name=JOB,
                    asset_selection=assets,
                    tags=tags,
                    # sources that have not sent every month of the range are not an error here
                    run_config={
                        "resources": {"run_settings": {"config": {"allow_missing_sources": True}}}
                    },
                )
            )
    cursor = dump_cursor(scan.files)
    if requests:
        context.log.info(
            f"New: {len(scan.new_files)} file(s), changed: {len(scan.changed_files)}; "
            f"{len(requests)} run(s) requested."
        )
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    waiting = f"; {len(scan.settling)} still arriving" if scan.settling else ""
    return dg.SensorResult(
        skip_reason=dg.SkipReason(
            f"No new or changed extracts ({len(scan.files)} files watched{waiting})."
        ),
        cursor=cursor,
    )


def _known_months(context: dg.SensorEvaluationContext, scan, before: dict) -> dict:
    """The changed months the loaded definitions have partitions for. The partitions start at
    the first month landed when the definitions loaded (hearth/defs/ingest/partitions.py):
    a month landed before it waits, out of the cursor, until they are reloaded."""
    repo = context.repository_def
    months = repo.get_job(JOB).partitions_def if repo is not None else None
    first = months.get_first_partition_key() if months is not None else None
    early = sorted(m for m in scan.changed if first and m < first)
    if not early:
        return scan.changed
    context.log.warning(
        f"Extracts for {', '.join(early)} landed before the first month the loaded definitions "
        f"know ({first}): reload them (Deployment > Reload, or restart hearth ui) and the next "
        "tick sends them to a run."
    )
    for key in [k for k in scan.files if k.split("/")[1] in early]:
        if key in before:
            scan.files[key] = before[key]
        else:
            del scan.files[key]
    return {m: by for m, by in scan.changed.items() if m not in early}


def _months(tags) -> str | None:
    if PARTITION_NAME in tags:
        return tags[PARTITION_NAME]
    start, end = tags.get(PARTITION_RANGE_START), tags.get(PARTITION_RANGE_END)
    if start and end:
        return start if start == end else f"{start} to {end}"
    return None


@dg.run_failure_sensor(
    name="alert_on_stopped_run",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "When a run stops, writes a plain-language alert naming the check that stopped it (and "
        "the file, column and rule - never a value) to HEARTH_HOME/alerts.log and, if "
        "HEARTH_ALERT_WEBHOOK is set, POSTs it there as JSON."
    ),
)
def alert_on_stopped_run(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    trigger = run.tags.get(TRIGGER_TAG)
    if trigger == "hearth run":
        return  # `hearth run` writes its own alert as it stops
    trigger = (
        run.tags.get("dagster/sensor_name") or run.tags.get("dagster/schedule_name") or trigger
    )
    stop = stop_from_instance(context.instance, run.run_id)
    reason = context.failure_event.message if context.failure_event else None
    text = alert_stopped_run(
        run.run_id, run.job_name, stop, trigger, _months(run.tags), reason=reason
    )
    context.log.info(text)


@dg.definitions
def operations_sensors() -> dg.Definitions:
    return dg.Definitions(sensors=[landing_sensor, alert_on_stopped_run])
