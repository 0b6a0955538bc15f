"""The monthly schedule: train, promote and publish once the month's extracts are all in."""

import dagster as dg

from hearth.defs.resources import LandingResource, OutputsResource
from hearth.defs.tags import PARTITION_RANGE_END, PARTITION_RANGE_START
from hearth.operations.watch import plan_publish

JOB = "hearth_full_run"
FINGERPRINT_TAG = "hearth/landing_fingerprint"


@dg.schedule(
    job_name=JOB,
    cron_schedule="0 6 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Each morning at 06:00 it looks at the landing folder. The first morning every source "
        "has sent the newest month's extract, it runs the whole graph - ingest (unchanged files "
        "are skipped), link, features, train, promote and publish outputs/<month after> - so "
        "it publishes once a month, after the month's extracts are in. It does not run again "
        "for the same files, nor when those outputs are already published from them."
    ),
)
def monthly_publish(
    context: dg.ScheduleEvaluationContext, landing: LandingResource, outputs: OutputsResource
):
    plan = plan_publish(landing.resolved(), outputs.resolved())
    if not plan.run:
        return dg.SkipReason(plan.reason)
    tags = {FINGERPRINT_TAG: plan.fingerprint}
    done = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=JOB, tags={FINGERPRINT_TAG: plan.fingerprint}), limit=1
    )
    if done:
        return dg.SkipReason(
            f"Already ran for these files (run {done[0].run_id[:8]}, "
            f"{done[0].status.value.lower()}); land a corrected file or run `hearth run`."
        )
    return dg.RunRequest(
        run_key=f"publish:{plan.as_of}:{plan.fingerprint}",
        job_name=JOB,
        tags={
            **tags,
            "hearth/trigger": "monthly_publish",
            PARTITION_RANGE_START: plan.first_month,
            PARTITION_RANGE_END: plan.newest_month,
        },
    )


@dg.definitions
def operations_schedules() -> dg.Definitions:
    return dg.Definitions(schedules=[monthly_publish])
