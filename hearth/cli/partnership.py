"""`hearth partnership route|run`: a partnership of authorities, each its own Hearth home under
HEARTH_HOME/authorities/<code>/ (hearth/linkage/partnership.py routes the partnership's
landing). `hearth partnership run` launches the partnership's Dagster job
(hearth/defs/operations/partnership.py) in the partnership's own instance, steps on the executor
chosen, progress read from the run's own step events."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated

import typer

from hearth import settings
from hearth.atomic import read_record
from hearth.cli.console import console, fail, say
from hearth.cli.launch import ensure_dagster_home, train_settings_or_fail
from hearth.cli.out_of_process import execute_out_of_process
from hearth.linkage.partnership import PartnershipError, Routing, read_authorities
from hearth.operations.executors import EXECUTOR_ENV, execution_config, executor_name
from hearth.operations.partnership import (
    LOCK_WHAT,
    AuthorityRun,
    last_routing,
    outcome_sentences,
    route_partnership,
    summary_runs,
)
from hearth.operations.runlock import run_lock

PARTNERSHIP_EXECUTORS = ("in_process", "multiprocess", "celery")
DEFAULT_EXECUTOR = "multiprocess"  # a partnership on one machine: authorities side by side


def partnership_run_config(
    landing: Path,
    authorities: Iterable[str] | None,
    jobs: int,
    allow_missing_sources: bool,
    retrain: bool | None,
    min_share: float | None,
    train_config: dict | None,
    executor: str,
    route_first: bool = True,
) -> dict:
    """The run config of the partnership's job (hearth/defs/operations/partnership.py):
    `jobs` is the multiprocess executor's max_concurrent (celery: the workers' concurrency)."""
    model: dict = {"retrain": retrain, "min_share": min_share}
    if train_config:
        model["train"] = dict(train_config)
    authority = {"config": {"allow_missing_sources": allow_missing_sources}}
    return {
        "execution": execution_config(executor, jobs if executor == "multiprocess" else None),
        "resources": {"landing": {"config": {"path": str(landing.resolve())}}},
        "ops": {
            "route_partnership_landing": {
                "config": {"authorities": list(authorities or []), "route": route_first}
            },
            "prepare_authority": authority,
            "score_authority": authority,
            "partnership_model": {"config": model},
        },
        "loggers": {"hearth_progress": {}},
    }


def run_partnership(
    landing: Path,
    authorities: Iterable[str] | None = None,
    jobs: int = 2,
    allow_missing_sources: bool = False,
    say: Callable[[str], None] = print,
    retrain: bool | None = None,
    min_share: float | None = None,
    train_config: dict | None = None,
    executor: str | None = None,
    route_first: bool = True,
) -> tuple[Routing | None, list[AuthorityRun]]:
    """Launch the partnership's Dagster job and wait for it: route (the authorities named,
    default all; with `route_first` False, the landings as last routed), prepare each,
    the partnership model, score each, the summary. Returns the routing and each authority's
    outcome (read back from the summary); no authority ran when the routing found a file it
    could not give to any (`routing.blocking`). A problem before any authority ran is a
    PartnershipError (a sentence)."""
    import dagster as dg  # dagster

    name = executor_name(executor or os.environ.get(EXECUTOR_ENV) or DEFAULT_EXECUTOR)
    if name not in PARTNERSHIP_EXECUTORS:
        raise ValueError(
            f"A partnership runs on one of {', '.join(PARTNERSHIP_EXECUTORS)}, not {name}."
        )
    chosen = list(authorities or [])
    everyone = read_authorities(landing)  # a sentence before any work when it cannot be read
    unknown = sorted(set(chosen) - set(everyone))
    if unknown:
        raise PartnershipError(
            f"{', '.join(unknown)} is not an authority of the partnership (the LA rows of "
            f"reference/areas.csv: {', '.join(everyone)})."
        )
    run_config = partnership_run_config(
        landing,
        chosen,
        jobs,
        allow_missing_sources,
        retrain,
        min_share,
        train_config,
        name,
        route_first,
    )
    ensure_dagster_home()  # the partnership's own instance: HEARTH_HOME/dagster
    instance = dg.DagsterInstance.get()
    # The landing resource takes only HEARTH_HOME's or what HEARTH_LANDING names; step
    # processes inherit it from here (a celery worker: `hearth worker --landing`).
    previous = os.environ.get("HEARTH_LANDING")
    os.environ["HEARTH_LANDING"] = str(landing.resolve())
    n = len(chosen or everyone)
    at_once = f", up to {jobs} at a time" if name == "multiprocess" else ""
    try:
        with run_lock(settings.partnership_dir(), LOCK_WHAT, say):
            say(
                f"The partnership's run: {n} authorit{'y' if n == 1 else 'ies'}, each its own "
                f"home, steps on the {name.replace('_', ' ')} executor{at_once}."
            )
            result = execute_out_of_process(
                instance, run_config, {"hearth/trigger": LOCK_WHAT}, say, {}, "partnership"
            )
    finally:
        if previous is None:
            os.environ.pop("HEARTH_LANDING", None)
        else:
            os.environ["HEARTH_LANDING"] = previous
    say(f"Dagster run {result.run_id} (the partnership's instance, {settings.dagster_home()}).")
    record = read_record(settings.partnership_dir() / "run_summary.json") or {}
    runs = summary_runs(record) if record.get("run_id") == result.run_id else []
    routing = last_routing()
    if runs:
        for sentence in outcome_sentences(runs):
            say(sentence)
        return routing, runs
    if route_first and routing is not None and routing.blocking:
        for sentence in routing.blocking:
            say(sentence)
        return routing, []
    raise PartnershipError(
        " ".join(_failures(result))
        or "The partnership's run stopped before any authority ran (its Dagster run says why)."
    )


def _failures(result) -> list[str]:
    """The sentence of each failed step of the partnership's run."""
    from hearth.operations.alerts import step_sentence

    out = []
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            sentence = step_sentence(ev)
            if sentence:
                out.append(sentence)
    return out


def run_authorities(
    names: Iterable[str],
    landing: Path,
    jobs: int = 2,
    allow_missing_sources: bool = False,
    say: Callable[[str], None] = print,
    retrain: bool | None = None,
    min_share: float | None = None,
    train_config: dict | None = None,
    executor: str | None = None,
) -> list[AuthorityRun]:
    """The partnership's job on the authorities' landings as the last routing left them (the
    routing step routes nothing): each named authority prepared, the model, each scored."""
    _, runs = run_partnership(
        landing,
        names,
        jobs,
        allow_missing_sources,
        say,
        retrain,
        min_share,
        train_config,
        executor,
        route_first=False,
    )
    return runs


LANDING = typer.Option(
    "--landing", help="The partnership's landing: every agency's extracts, and reference/areas.csv."
)
AUTHORITY = typer.Option(
    "--authority",
    help="Only this authority (its ONS code; repeat for more). Default: every LA row of "
    "reference/areas.csv.",
)


def route_command(
    landing: Annotated[Path, LANDING],
    authority: Annotated[list[str] | None, AUTHORITY] = None,
) -> None:
    """Split the partnership's landing into each authority's landing, by the household each
    record belongs to on its date; count what goes nowhere."""
    if not landing.is_dir():
        fail(f"The landing folder {landing} does not exist.")
    try:
        routing = route_partnership(landing, authority or None, say=say)
    except (PartnershipError, ValueError) as e:
        fail(str(e))
    for a in authority or routing.authorities:
        rows = sum(e.routed.get(a, 0) for e in routing.extracts)
        console.print(f"{a}: {rows:,} rows in {settings.authority_home(a) / 'landing'}")
    for sentence in routing.sentences():
        console.print(sentence)


def run_command(
    landing: Annotated[Path, LANDING],
    authority: Annotated[list[str] | None, AUTHORITY] = None,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            help="Steps run at once on the multiprocess executor (its max_concurrent); on "
            "celery, the workers' --concurrency decides.",
        ),
    ] = 2,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help="Where the partnership's steps run: multiprocess (default, or "
            "HEARTH_EXECUTOR: one machine, authorities side by side), in_process (one after "
            "another) or celery (`hearth worker`s, which may be on other machines). Each "
            "authority's own run is in-process. docs/operations.md.",
        ),
    ] = None,
    allow_missing_sources: Annotated[
        bool, typer.Option(help="Go on when a source has no extract for the newest month.")
    ] = False,
    min_share: Annotated[
        float | None,
        typer.Option(
            "--min-share",
            min=0.01,
            max=1.0,
            help="Retrain the partnership model when the authorities whose features are "
            "ready hold at least this share of the partnership's households (default: only "
            "when every authority's are).",
        ),
    ] = None,
    retrain: Annotated[
        bool | None,
        typer.Option(
            "--retrain/--no-retrain",
            help="Train the partnership model in this run (default: when every authority "
            "runs; an authority run alone scores with the current model).",
        ),
    ] = None,
    train_config: Annotated[
        Path | None,
        typer.Option(
            "--train-config",
            help="YAML or JSON file of the partnership model's training settings (as for "
            "`hearth run`).",
        ),
    ] = None,
) -> None:
    """Route the partnership's landing; prepare each authority in its own home; train the
    partnership model once on all their households (when its completeness rule holds); score
    and publish each authority's list with it. One Dagster run (job hearth_partnership), one
    step per authority and part. One authority stopping leaves the others' lists published."""
    if not landing.is_dir():
        fail(f"The landing folder {landing} does not exist.")
    training = train_settings_or_fail(train_config)
    try:
        _, runs = run_partnership(
            landing,
            authority or None,
            jobs,
            allow_missing_sources,
            say=say,
            executor=executor,
            retrain=retrain,
            min_share=min_share,
            train_config=training,
        )
    except (PartnershipError, ValueError) as e:
        fail(str(e))
    if not runs:
        fail(
            "No authority ran: the partnership's landing holds a file that is not read "
            f"(listed above and in {settings.partnership_dir() / 'routing.json'}).",
            code=1,
        )
    stopped = [r.authority for r in runs if not r.published]
    summary = settings.partnership_dir() / "run_summary.json"
    model = (read_record(summary) or {}).get("model") or {}
    if model.get("sentence"):
        console.print(model["sentence"], markup=False)
    console.print(f"Partnership summary: {summary}")
    if stopped:
        others = "the others published" if len(stopped) < len(runs) else "none published"
        fail(
            f"{len(stopped)} authorit{'y' if len(stopped) == 1 else 'ies'} stopped: "
            f"{', '.join(stopped)}; {others}. Each one's reasons are in the summary.",
            code=1,
        )
