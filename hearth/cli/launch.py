"""`hearth run`: materialise the whole graph through Dagster, with progress, and turn a stopped
run into plain sentences."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from hearth import settings
from hearth.atomic import write_atomically
from hearth.cli.console import fail
from hearth.cli.out_of_process import (
    JOB_NAMES,
    execute_out_of_process,
    run_config_for,
)
from hearth.defs.tags import PARTITION_RANGE_END, PARTITION_RANGE_START
from hearth.features.design import as_of_refusal
from hearth.ingest.landing import inventory
from hearth.ingest.removals import pending
from hearth.modelling.registry.client import Registry
from hearth.modelling.registry.promotion import MlflowStore
from hearth.months import MonthError, parse_month
from hearth.operations.alerts import (
    alert_stopped_run,
    run_failure_sentence,
    step_sentence,
    stop_from_instance,
)
from hearth.operations.executors import execution_config, executor_name
from hearth.operations.recovery import finish_abandoned, recover, settle_dead_run
from hearth.operations.runlock import run_lock
from hearth.privacy.access import ensure_private_home, private_process, resource_refusal_sentence
from hearth.publish.outputs import write_json
from hearth.warehouse import connect


@dataclass
class RunOutcome:
    success: bool
    as_of: str | None
    run_id: str | None
    problems: list[str] = field(default_factory=list)
    output_folder: Path | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    model: dict[str, str] = field(default_factory=dict)  # the version trained, its alias, why
    # checks that failed with WARN: what the run went on without (a stale source, months kept
    # though no longer landed)
    warnings: list[str] = field(default_factory=list)


# First lines of the dagster.yaml files Hearth ships; a copy that starts with one is Hearth's
# to refresh, any other file in DAGSTER_HOME is the installer's own (e.g. Postgres settings).
_MANAGED_YAML = ("# hearth-managed", "# Dagster instance settings for a single-machine Hearth")


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME under HEARTH_HOME unless set, with the project's dagster.yaml in it (kept up
    to date unless someone has put their own settings there)."""

    private_process()  # what this run, the UIs and Dagster's daemon write: owner only
    ensure_private_home()  # HEARTH_HOME for its owner only, created 0700 or tightened
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    cfg = home / "dagster.yaml"
    shipped = settings.project_path("dagster.yaml")  # the checkout's, or the wheel's copy
    if not cfg.exists() or (
        cfg.read_text(encoding="utf-8").startswith(_MANAGED_YAML)
        and cfg.read_bytes() != shipped.read_bytes()
    ):
        write_atomically(cfg, lambda tmp: shutil.copyfile(shipped, tmp))
    return home


def _problems(result) -> list[str]:
    """One sentence per failed blocking check or failed step; never a traceback."""

    out = []
    for ev in result.get_asset_check_evaluations():
        if not ev.passed and ev.severity.value == "ERROR":
            desc = ev.description or f"check {ev.check_name} failed"
            out.append(f"[{ev.asset_key.to_user_string()} · {ev.check_name}] {desc}")
    ended = None
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            detail = step_sentence(ev)  # None for a blocking check's failure: reported above
            if detail:
                out.append(f"[{ev.step_key}] {detail}")
        elif ev.event_type_value == "PIPELINE_FAILURE":
            ended = run_failure_sentence(ev)  # interrupted as the run started or ended
        elif ev.event_type_value == "RESOURCE_INIT_FAILURE":  # e.g. a path outside HEARTH_HOME
            err = ev.event_specific_data.error
            text = "\n".join(e.message for e in _chain(err))
            out.append(resource_refusal_sentence(text) or "A resource of the run failed to start.")
    return out or ([ended] if ended else [])


def _warnings(result) -> list[str]:
    """One sentence per check that failed with WARN: what a run allowed to go on went without."""
    return [
        f"[{ev.asset_key.to_user_string()} · {ev.check_name}] {ev.description}"
        for ev in result.get_asset_check_evaluations()
        if not ev.passed and ev.severity.value == "WARN"
    ]


def _chain(err):
    while err is not None:
        yield err
        err = err.cause


def as_of_problem(landing: Path, as_of: str | None) -> str | None:
    """Why a run on `landing` cannot score at `as_of`, as one sentence, or None. Looks only at
    the month written and the months landed, so a month the run could never use is refused in
    seconds rather than after minutes of ingest and features."""

    if as_of is None:
        return None
    try:
        month = parse_month(as_of, "as-of month")
    except MonthError as e:
        return str(e)
    months = sorted({e.month for e in inventory(landing).extracts})
    if not months:
        return None  # the run says that nothing has landed
    return as_of_refusal(month, months[0], months[-1])


def train_settings_or_fail(path: Path | None) -> dict | None:
    """`--train-config`'s settings for a command, or the sentence saying why they cannot be read
    (and exit); None when no file was given."""
    if path is None:
        return None
    try:
        return read_train_settings(path)
    except ValueError as e:
        fail(str(e))


def read_train_settings(path: Path) -> dict:
    """Training settings for `run_pipeline(train_config=...)` from a YAML or JSON file, checked
    against the training step's config; ValueError with a sentence naming what is wrong."""

    from hearth.defs.modelling.assets import TrainConfig  # dagster

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ValueError(
            f"Could not read training settings from {path} ({type(e).__name__})."
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold settings as name: value pairs.")
    unknown = sorted(set(data) - set(TrainConfig.model_fields))
    if unknown:
        raise ValueError(
            f"{path}: unknown training setting '{unknown[0]}'; known: "
            f"{', '.join(TrainConfig.model_fields)}."
        )
    try:
        TrainConfig(**data)
    except ValidationError as e:
        first = e.errors()[0]
        raise ValueError(f"{path}: training setting '{first['loc'][0]}': {first['msg']}.") from None
    return data


def pending_removals(warehouse: Path) -> list[dict]:
    """The removals the last run listed and no one accepted (hearth/ingest/removals.py)."""

    if not warehouse.exists():
        return []
    with connect(warehouse) as con:
        return pending(con)


NO_REMOVALS_WAITING = (
    "No removals are waiting to be accepted: the last run listed none. Run without "
    "--accept-removals; if the landing would remove accepted records, the run stops and lists "
    "them first."
)


def run_pipeline(
    landing: Path,
    as_of: str | None = None,
    allow_missing_sources: bool = False,
    train_config: dict | None = None,
    say: Callable[[str], None] = print,
    accept_removals: bool = False,
    executor: str = "in_process",
    max_concurrent: int | None = None,
    part: str = "all",
) -> RunOutcome:
    """`part`: `all` (the whole graph), or a partnership authority's `prepare` (everything up
    to features and labels) or `score` (the partnership's model, the scores, the list):
    hearth/defs/jobs.py.

    `executor`: where the steps run (hearth/operations/executors.py): `in_process`,
    `multiprocess` or `celery` (`k8s` is rendered by `render_k8s_run`, not run from here).

    One run at a time per warehouse: a second `hearth run` waits for the one in progress
    (hearth/operations/runlock.py), then goes on. What a killed run left behind is put right first
    (hearth/operations/recovery.py). A run that stops writes an alert
    (hearth/operations/alerts.py).

    `accept_removals`: apply exactly the removals the last run listed (read from the warehouse
    under the lock); if the landing no longer fits that list, the run stops and removes nothing."""

    def instance():
        import dagster as dg  # dagster

        ensure_dagster_home()
        return dg.DagsterInstance.get()

    private_process()  # the lock, the warehouse, MLflow, outputs: its owner's only
    ensure_private_home()

    warehouse = settings.warehouse_path()
    store = MlflowStore(Registry(settings.mlflow_tracking_uri()))
    with run_lock(warehouse.parent, f"hearth run on {landing}", say):
        for note in recover(
            warehouse,
            settings.outputs_dir(),
            store,
            lambda run_id, outcome: settle_dead_run(instance(), run_id, outcome),
        ):
            say(f"  note: {note}")
        keys: list[str] = []
        if accept_removals:
            listed = pending_removals(warehouse)
            if not listed:
                return RunOutcome(False, as_of, None, [NO_REMOVALS_WAITING])
            say(f"Accepting the {len(listed)} removal(s) the last run listed:")
            for r in listed:
                say(f"  • {r['sentence'].rsplit(' [', 1)[0]}")
            keys = [r["key"] for r in listed]
        outcome = _run_pipeline_locked(
            landing,
            as_of,
            allow_missing_sources,
            train_config,
            say,
            keys,
            executor_name(executor),
            max_concurrent,
            part,
        )
        for note in finish_abandoned(warehouse, store):
            say(f"  note: {note}")
    if not outcome.success and outcome.run_id:
        try:
            stop = stop_from_instance(instance(), outcome.run_id)
            alert_stopped_run(outcome.run_id, JOB_NAMES[part], stop, "hearth run")
        except Exception as e:  # an alert that cannot be sent must not hide the run's result
            say(f"  note: the alert could not be written ({type(e).__name__}).")
    return outcome


def _run_pipeline_locked(
    landing: Path,
    as_of: str | None,
    allow_missing_sources: bool,
    train_config: dict | None,
    say: Callable[[str], None],
    accept_removals: list[str] | None = None,
    executor: str = "in_process",
    max_concurrent: int | None = None,
    part: str = "all",
) -> RunOutcome:
    """Ingest every landed month (unchanged files are skipped), then link, build features,
    train, score and publish, all in one Dagster run recorded in the instance."""
    import dagster as dg  # dagster

    from hearth.definitions import defs  # dagster
    from hearth.defs.loggers import PROGRESS  # dagster

    inv = inventory(landing)
    found = inv.extracts
    for u in inv.unread:
        say(f"  note: {u.sentence()}")
    months = sorted({e.month for e in found})
    if not months:
        return RunOutcome(False, as_of, None, [f"No extracts found under {landing}."])
    refused = as_of_problem(landing, as_of)
    if refused:
        return RunOutcome(False, as_of, None, [refused])
    ensure_dagster_home()
    instance = dg.DagsterInstance.get()
    timings: dict[str, float] = {}
    PROGRESS.update(say=say, timings=timings)
    settings_cfg: dict = {"allow_missing_sources": allow_missing_sources}
    if accept_removals:
        settings_cfg["accept_removals"] = list(accept_removals)
    if as_of:
        settings_cfg["as_of"] = as_of
    # only a run that trains takes training settings (a partnership's authority trains nothing)
    run_config = run_config_for(landing, settings_cfg, train_config if part == "all" else None)
    tags = {"hearth/trigger": "hearth run"}
    if part != "score":  # the scoring part has no partitioned asset
        tags |= {PARTITION_RANGE_START: months[0], PARTITION_RANGE_END: months[-1]}
    # The landing resource takes only HEARTH_HOME or what HEARTH_LANDING names (run config can
    # come from anyone who can launch a run): the landing given to this run is named there.
    previous_landing = os.environ.get("HEARTH_LANDING")
    os.environ["HEARTH_LANDING"] = str(landing.resolve())
    try:
        if executor == "in_process":
            # loaded with this landing named: the extract partitions start at its first month
            job = defs().resolve_job_def(JOB_NAMES[part])
            result = job.execute_in_process(
                run_config=run_config, instance=instance, tags=tags, raise_on_error=False
            )
        else:
            say(f"  steps run on the {executor.replace('_', ' ')} executor")
            run_config["execution"] = execution_config(executor, max_concurrent)
            result = execute_out_of_process(instance, run_config, tags, say, timings, part)
    finally:
        PROGRESS.update(say=None, timings=None)
        if previous_landing is None:
            os.environ.pop("HEARTH_LANDING", None)
        else:
            os.environ["HEARTH_LANDING"] = previous_landing
    problems = [] if result.success else _problems(result)
    folder, model = None, {}
    if result.success:
        for ev in result.get_asset_materialization_events():
            meta = ev.materialization.metadata
            if ev.asset_key.to_user_string() == "published_outputs":
                folder = Path(meta["folder"].value)
            elif ev.asset_key.to_user_string() == "champion_model":
                keys = ("version", "alias", "promotion_reason")
                model = {k: str(meta[k].value) for k in keys if k in meta}
    outcome = RunOutcome(
        result.success,
        as_of,
        result.run_id,
        problems,
        folder,
        step_seconds=timings,
        model=model,
        warnings=_warnings(result),
    )
    write_json(
        settings.hearth_home() / "last_run.json",
        {
            "run_id": result.run_id,
            "status": ("prepared" if part == "prepare" else "published")
            if result.success
            else "stopped",
            "part": part,
            "problems": problems,
            "warnings": outcome.warnings,
            "output_folder": str(folder) if folder else None,
            "step_seconds": timings,
            "not_read": [u.to_dict() for u in inv.unread],
            # what the landing would remove and no one has accepted (hearth run --accept-removals)
            "removals_pending": pending_removals(settings.warehouse_path()),
        },
    )
    return outcome
