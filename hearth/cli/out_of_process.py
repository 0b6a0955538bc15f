"""`hearth run` with the steps in other processes (multiprocess, celery): the job as a
reconstructable target, the run orchestrated from this process, progress read from the run's
own step events; and the Kubernetes Jobs a run's steps would be (rendered, not launched)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from hearth import settings
from hearth.defs.tags import PARTITION_RANGE_END, PARTITION_RANGE_START
from hearth.ingest.landing import inventory
from hearth.operations.executors import execution_config, render_k8s_step_jobs

JOB_NAME = "hearth_full_run"


def full_run_job():
    """The job, loaded afresh: the target of `dg.reconstructable`, so that step processes and
    celery workers rebuild the same definitions (with the landing HEARTH_LANDING names)."""
    from hearth.definitions import defs  # dagster

    return defs().resolve_job_def(JOB_NAME)


def prepare_job():
    """A partnership authority's first part (hearth/defs/jobs.py), loaded as `full_run_job`."""
    from hearth.definitions import defs  # dagster

    return defs().resolve_job_def("hearth_prepare")


def score_job():
    """A partnership authority's second part (hearth/defs/jobs.py), loaded as `full_run_job`."""
    from hearth.definitions import defs  # dagster

    return defs().resolve_job_def("hearth_score")


def partnership_job():
    """A partnership's run (hearth/defs/operations/partnership.py), loaded as `full_run_job`."""
    from hearth.definitions import defs  # dagster

    return defs().resolve_job_def("hearth_partnership")


# `hearth run --part`: which job runs (a partnership's authority runs in two parts); and
# `hearth partnership run`'s job, launched the same way
JOBS = {
    "all": full_run_job,
    "prepare": prepare_job,
    "score": score_job,
    "partnership": partnership_job,
}
JOB_NAMES = {
    "all": JOB_NAME,
    "prepare": "hearth_prepare",
    "score": "hearth_score",
    "partnership": "hearth_partnership",
}


def run_config_for(landing: Path, settings_cfg: dict, train_config: dict | None) -> dict:
    """The run config of a `hearth run`: its settings, its landing, its training settings."""
    run_config: dict = {
        "resources": {
            "run_settings": {"config": settings_cfg},
            "landing": {"config": {"path": str(landing.resolve())}},
        },
        "loggers": {"hearth_progress": {}},
    }
    if train_config:
        run_config["ops"] = {"champion_model": {"config": train_config}}
    return run_config


_STEP_EVENTS = ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")


def step_lines(instance, run_id: str, cursor: str | None, started: dict, timings: dict):
    """The run's step events after `cursor`, as progress lines (the same words as in-process
    runs print: hearth/defs/loggers.py), with each finished step's seconds noted in `timings`.
    Returns (lines, new cursor)."""
    import dagster as dg  # dagster

    kinds = {getattr(dg.DagsterEventType, k) for k in _STEP_EVENTS}
    conn = instance.get_records_for_run(run_id=run_id, cursor=cursor, of_type=kinds, limit=1000)
    lines = []
    for rec in conn.records:
        entry = rec.event_log_entry
        step, kind = entry.step_key, entry.dagster_event.event_type_value
        name = (step or "").replace("_", " ")
        if kind == "STEP_START":
            started[step] = entry.timestamp
            lines.append(f"  running {name}")
        elif kind == "STEP_SUCCESS":
            timings[step] = entry.timestamp - started.get(step, entry.timestamp)
            lines.append(f"  done    {name} ({timings[step]:.1f} s)")
        elif kind == "STEP_FAILURE":
            lines.append(f"  FAILED  {name}")
        else:
            lines.append(f"  skipped {name} (an earlier check stopped the run)")
    return lines, conn.cursor


def execute_out_of_process(
    instance, run_config: dict, tags: dict, say, timings: dict, part: str = "all"
):
    """Run the job with steps in other processes (multiprocess, celery). This process
    orchestrates: it holds the run lock and the warehouse's shadow and commits at the end
    (hearth/defs/jobs.py GuardedExecutor). Progress is read from the run's own step events,
    which the steps write to the instance wherever they execute."""
    import threading
    import uuid

    import dagster as dg  # dagster

    token = uuid.uuid4().hex
    done = threading.Event()

    def watch() -> None:
        run_id, cursor, started, failures = None, None, {}, 0
        while True:
            finished = done.wait(1.0)
            try:
                if run_id is None:
                    runs = instance.get_runs(filters=dg.RunsFilter(tags={"hearth/launch": token}))
                    run_id = runs[0].run_id if runs else None
                if run_id is not None:
                    lines, cursor = step_lines(instance, run_id, cursor, started, timings)
                    for line in lines:
                        say(line)
                failures = 0
            except Exception as e:  # e.g. SQLite busy as the run starts; never stops the run
                failures += 1
                if failures == 30:
                    say(f"  note: progress could not be read ({type(e).__name__}).")
                    return
            if finished:
                return

    watcher = threading.Thread(target=watch, name="hearth-progress", daemon=True)
    watcher.start()
    try:
        return dg.execute_job(
            dg.reconstructable(JOBS[part]),
            instance,
            run_config=run_config,
            tags={**tags, "hearth/launch": token},
            raise_on_error=False,
        )
    finally:
        done.set()
        watcher.join(timeout=30)


def render_k8s_run(
    landing: Path,
    as_of: str | None,
    allow_missing_sources: bool,
    train_config: dict | None,
    max_concurrent: int | None = None,
) -> Path:
    """Write the run config of this run on the `k8s` executor and the Kubernetes Job of each of
    its steps (dagster-k8s's own builders: hearth/operations/executors.py), under
    HEARTH_HOME/k8s/<run id>/. The run config is checked against the job's, executor included."""
    import dagster as dg  # dagster
    from dagster._core.execution.api import create_execution_plan
    from dagster._core.utils import make_new_run_id

    settings_cfg: dict = {"allow_missing_sources": allow_missing_sources}
    if as_of:
        settings_cfg["as_of"] = as_of
    run_config = run_config_for(landing, settings_cfg, train_config)
    run_config["execution"] = execution_config("k8s", max_concurrent)
    months = sorted({e.month for e in inventory(landing).extracts})
    tags = {PARTITION_RANGE_START: months[0], PARTITION_RANGE_END: months[-1]} if months else {}
    previous = os.environ.get("HEARTH_LANDING")
    os.environ["HEARTH_LANDING"] = str(landing.resolve())
    try:
        recon = dg.reconstructable(full_run_job)
        plan = create_execution_plan(recon, run_config=run_config, tags=tags)
        steps = [s.key for s in plan.get_steps_to_execute_in_topo_order()]
        run_id = make_new_run_id()
        jobs = render_k8s_step_jobs(
            recon.get_python_origin(),
            run_id,
            JOB_NAME,
            steps,
            run_config["execution"]["config"]["k8s"],
        )
    finally:
        if previous is None:
            os.environ.pop("HEARTH_LANDING", None)
        else:
            os.environ["HEARTH_LANDING"] = previous
    folder = settings.hearth_home() / "k8s" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.yaml").write_text(yaml.safe_dump(run_config, sort_keys=False), "utf-8")
    (folder / "step-jobs.yaml").write_text(yaml.safe_dump_all(jobs, sort_keys=False), "utf-8")
    return folder
