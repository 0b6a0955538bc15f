"""`hearth run`: materialise the whole graph through Dagster, with progress, and turn a stopped
run into plain sentences."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hearth import settings
from hearth.ingest.files import discover
from hearth.publish import write_json

JOB_NAME = "hearth_full_run"


@dataclass
class RunOutcome:
    success: bool
    as_of: str | None
    run_id: str | None
    problems: list[str] = field(default_factory=list)
    output_folder: Path | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME under HEARTH_HOME unless set, with the project's dagster.yaml in it."""
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        shutil.copyfile(settings.PROJECT_ROOT / "dagster.yaml", cfg)
    return home


def _problems(result) -> list[str]:
    """One sentence per failed blocking check or failed step; never a traceback."""
    out = []
    for ev in result.get_asset_check_evaluations():
        if not ev.passed and ev.severity.value == "ERROR":
            desc = ev.description or f"check {ev.check_name} failed"
            out.append(f"[{ev.asset_key.to_user_string()} · {ev.check_name}] {desc}")
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.step_failure_data.error
            msg = err.message.strip().splitlines()[0] if err else "unknown error"
            if "blocking asset check" in msg:
                continue
            cause = err.cause if err else None
            while cause is not None and cause.cause is not None:
                cause = cause.cause
            detail = cause.message.strip().splitlines()[0] if cause else msg
            out.append(f"[{ev.step_key}] {detail}")
    return out


def run_pipeline(
    landing: Path,
    as_of: str | None = None,
    allow_missing_sources: bool = False,
    train_config: dict | None = None,
    say: Callable[[str], None] = print,
) -> RunOutcome:
    """Ingest every landed month (unchanged files are skipped), then link, build features,
    train, score and publish, all in one Dagster run recorded in the instance."""
    import dagster as dg
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from pipelines.definitions import defs
    from pipelines.defs.loggers import PROGRESS

    found, folder_problems = discover(landing)
    for p in folder_problems:
        say(f"  note: {p}")
    months = sorted({e.month for e in found})
    if not months:
        return RunOutcome(False, as_of, None, [f"No extracts found under {landing}."])
    ensure_dagster_home()
    instance = dg.DagsterInstance.get()
    job = defs().resolve_job_def(JOB_NAME)
    timings: dict[str, float] = {}
    PROGRESS.update(say=say, timings=timings)
    settings_cfg = {"allow_missing_sources": allow_missing_sources}
    if as_of:
        settings_cfg["as_of"] = as_of
    run_config = {
        "resources": {
            "run_settings": {"config": settings_cfg},
            "landing": {"config": {"path": str(landing.resolve())}},
        },
        "loggers": {"hearth_progress": {}},
    }
    if train_config:
        run_config["ops"] = {"champion_model": {"config": train_config}}
    try:
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: months[0],
                ASSET_PARTITION_RANGE_END_TAG: months[-1],
            },
            raise_on_error=False,
        )
    finally:
        PROGRESS.update(say=None, timings=None)
    problems = [] if result.success else _problems(result)
    folder = None
    if result.success:
        for ev in result.get_asset_materialization_events():
            if ev.asset_key.to_user_string() == "published_outputs":
                folder = Path(ev.materialization.metadata["folder"].value)
    outcome = RunOutcome(
        result.success, as_of, result.run_id, problems, folder, step_seconds=timings
    )
    write_json(
        settings.hearth_home() / "last_run.json",
        {
            "run_id": result.run_id,
            "status": "published" if result.success else "stopped",
            "problems": problems,
            "output_folder": str(folder) if folder else None,
            "step_seconds": timings,
        },
    )
    return outcome
