"""`hearth synth`, `hearth run` and `hearth demo`: a synthetic world, and whole runs of the
pipeline through Dagster (hearth/cli/launch.py), with progress; a stopped run in sentences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from hearth import settings
from hearth.cli.console import console, err, fail
from hearth.cli.launch import as_of_problem, run_pipeline, train_settings_or_fail
from hearth.cli.partnership import run_command as partnership_run
from hearth.months import MonthError, parse_month
from hearth.operations.alerts import nothing_kept
from hearth.operations.executors import ExecutorError, executor_name
from hearth.quality.retention import retention_sentence

# Checked by typer before any work: a count below it is refused with a one-line usage error.
HOUSEHOLDS = typer.Option(min=2, help="Households in the synthetic world (2 or more).")
SHARED_KEYS = typer.Option(
    "--shared-keys/--agency-identifiers",
    help="--agency-identifiers (the default): each agency holds the keys real ones do (police "
    "none, fire some UPRNs, social care some NHS numbers) and records names, dates of birth and "
    "addresses with errors; each landing is made from its raw extract by hearth pseudonymise "
    "with tokens. --shared-keys: every agency holds NHS numbers and UPRNs (the earlier world, "
    "byte for byte, for comparisons).",
)
REALISTIC = typer.Option(
    "--realistic",
    help="The world that does not flatter the model: every mechanism of "
    "docs/synthetic-world.md on (a record-to-problem table drawn per seed, co-occurring "
    "problems, recording changes, a rising problem, seasonality, areas that record differently).",
)


def _world(realistic: bool, mechanisms: list[str] | None):
    """WorldParams from the flags (None: today's world); an unknown name is a usage error."""
    from hearth.synth.params import REALISTIC as PRESET  # scipy
    from hearth.synth.params import world_params  # scipy

    if realistic:
        return PRESET
    if not mechanisms:
        return None
    try:
        return world_params(mechanisms)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--mechanism") from None


def _synth(
    landing: Path,
    truth: Path,
    households: int,
    seed: int,
    months: int,
    end: str,
    mess_rate: float,
    move_rate: float,
    world=None,
    identifiers: str = "shared",
    raw: Path | None = None,
):
    from hearth.synth import synthesise  # scipy

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("synthesising", total=1.0)

        def progress(stage: str, fraction: float) -> None:
            bar.update(task, description=stage, completed=fraction)

        return synthesise(
            landing,
            truth,
            households=households,
            seed=seed,
            months=months,
            end=end,
            mess_rate=mess_rate,
            move_rate=move_rate,
            progress=progress,
            world=world,
            identifiers=identifiers,
            raw=raw,
        )


def synth(
    out: Annotated[Path, typer.Option("--out", help="Landing folder to write.")],
    truth: Annotated[Path, typer.Option("--truth", help="Folder for the truth (evaluation only).")],
    households: Annotated[int, HOUSEHOLDS] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 7,
    months: Annotated[int, typer.Option(min=2, help="Monthly extracts to write (2 or more).")] = 36,
    end: Annotated[str, typer.Option(help="Last extract month, YYYY-MM.")] = "2025-12",
    mess_rate: Annotated[
        float, typer.Option(min=0.0, max=1 / 3, help="Share of messy records.")
    ] = 0.01,
    move_rate: Annotated[
        float,
        typer.Option(min=0.0, max=0.5, help="Monthly chance a person moves house."),
    ] = 0.002,
    realistic: Annotated[bool, REALISTIC] = False,
    mechanism: Annotated[
        list[str] | None,
        typer.Option(
            "--mechanism",
            help="Switch on one mechanism at the preset's strength (repeat for more): "
            "drawn_table, cooccurrence, recording_changes, rising_prevalence, seasonality, "
            "area_recording.",
        ),
    ] = None,
    shared_keys: Annotated[bool, SHARED_KEYS] = False,
    raw: Annotated[
        Path | None,
        typer.Option(
            "--raw",
            help="Keep the agencies' raw extracts (made-up names and identifiers) in this "
            "folder, outside the landing and HEARTH_HOME. Without it they are made in a "
            "temporary folder and deleted once the landing is made from them.",
        ),
    ] = None,
) -> None:
    """Write a synthetic landing tree for all six sources, and the truth beside it."""
    from hearth.synth.agency import raw_folder  # numpy, pyarrow

    identifiers = "shared" if shared_keys else "agency"
    world = _world(realistic, mechanism)
    try:
        end = parse_month(end, "last extract month (--end)")
        if raw is not None and shared_keys:
            raise ValueError(
                "--raw is for --agency-identifiers: a world with shared keys has no raw extracts."
            )
        if raw is not None and Path(raw).resolve().is_relative_to(Path(out).resolve()):
            raise ValueError(
                f"--raw ({raw}) must not be inside the landing ({out}): raw "
                "extracts hold names and identifiers."
            )
        world_size = (out, truth, households, seed, months, end, mess_rate, move_rate)
        with raw_folder(identifiers, raw) as made:
            s = _synth(*world_size, world, identifiers, made)
    except ValueError as e:
        fail(str(e))
    kind = "" if world is None else f" (mechanisms on: {', '.join(world.active())})"
    console.print(
        f"Wrote {s.households:,} households ({s.persons:,} people), {s.months} months "
        f"{s.first_month}..{s.last_month} to {out}{kind}; truth in {truth}."
    )
    if not shared_keys:
        console.print(
            "Each agency's landing was made from its raw extract (made-up names and "
            "identifiers) by hearth pseudonymise with tokens; "
            + (
                f"the raw extracts are in {raw}."
                if raw is not None
                else "the raw extracts were deleted (--raw DIR keeps them)."
            )
        )


def _retention_line(folder: Path) -> str:
    """What the run deleted because its contracts' retention had passed, from its summary."""

    try:
        summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return retention_sentence(None)
    return retention_sentence(summary.get("retention"))


def _contact_count_notice(summary_file: Path) -> str | None:
    """What the published run summary says when the list is the contact-count ranking."""
    import json

    if not summary_file.is_file():
        return None
    model = json.loads(summary_file.read_text(encoding="utf-8")).get("model") or {}
    return model.get("contact_count") or None


def _report_run(outcome) -> None:
    if outcome.success and outcome.output_folder is None:  # `--part prepare`: nothing published
        console.print(
            f"[bold green]Prepared[/] the features and labels in {settings.warehouse_path()}; "
            "the partnership's model scores them next (`--part score`)."
        )
        return
    if outcome.success:
        if outcome.warnings:
            console.print("[bold yellow]Went on without[/] (missing sources were allowed):")
            for w in outcome.warnings:
                console.print(f" • {w}", markup=False)
        console.print(f"[bold green]Published[/] {outcome.output_folder}")
        console.print(f"Run summary: {outcome.output_folder / 'run_summary.json'}")
        console.print(_retention_line(outcome.output_folder), markup=False)
        said = _contact_count_notice(outcome.output_folder / "run_summary.json")
        if said:
            console.print("The contact-count ranking:", said, style="bold yellow", markup=False)
        m = outcome.model
        if m.get("version"):
            became = "is @champion" if m.get("alias") == "champion" else "is @challenger"
            console.print(
                f"Model: version {m['version']} {became}: {m.get('promotion_reason', '')}.",
                markup=False,
            )
        return

    err.print(f"[bold red]The run stopped.[/] {nothing_kept()}")
    for p in outcome.problems:
        err.print(f" • {p}", markup=False)  # "[source_extract · rule]" is text, not markup
    last = settings.hearth_home() / "last_run.json"
    if outcome.run_id:
        err.print(f"Details: Dagster run {outcome.run_id} (see hearth ui) and {last}.")
    raise typer.Exit(1)


def run(
    landing: Annotated[Path, typer.Option("--landing", help="Landing folder with the extracts.")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Scoring month, YYYY-MM (default: the month after the newest extract)."
        ),
    ] = None,
    allow_missing_sources: Annotated[
        bool, typer.Option(help="Go on when a source has no extract for the newest month.")
    ] = False,
    train_config: Annotated[
        Path | None,
        typer.Option(
            "--train-config",
            help="YAML or JSON file of training settings for this run (max_iter, "
            "learning_rate, candidates, value_of_sharing, ...; see TrainConfig).",
        ),
    ] = None,
    accept_removals: Annotated[
        bool,
        typer.Option(
            "--accept-removals",
            help="Remove from the warehouse exactly the records the last stopped run listed "
            "as no longer landed or shrunk (recorded in the audit with your name); refused if "
            "the landing changed since.",
        ),
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help="Where the steps run: in_process (default, or HEARTH_EXECUTOR), multiprocess "
            "(one machine), celery (hearth worker processes, HEARTH_CELERY_BROKER), k8s (writes "
            "the Kubernetes Jobs the steps would be, runs nothing). docs/operations.md.",
        ),
    ] = None,
    max_concurrent: Annotated[
        int | None,
        typer.Option(
            "--max-concurrent", min=1, help="multiprocess: at most this many step processes."
        ),
    ] = None,
    part: Annotated[
        str,
        typer.Option(
            "--part",
            help="all (default); or, for one authority of a partnership (run by `hearth "
            "partnership run`): prepare (ingest to features and labels) or score (the "
            "partnership's model scores, the list is published). docs/operations.md.",
        ),
    ] = "all",
) -> None:
    """Run the whole pipeline through Dagster: ingest, check, link, features, train, publish."""
    try:
        chosen = executor_name(executor)
    except ExecutorError as e:
        fail(str(e))
    if part not in ("all", "prepare", "score"):
        fail(f"--part is all, prepare or score, not {part!r}.")
    if part == "score" and not settings.partnership_model_uri():
        fail(
            "--part score scores with a partnership's model, and HEARTH_PARTNERSHIP_MODEL does "
            "not name one: `hearth partnership run` sets it for each authority."
        )
    if as_of is not None:
        try:
            as_of = parse_month(as_of, "as-of month (--as-of)")
        except MonthError as e:
            fail(str(e))

    if not landing.is_dir():
        fail(f"The landing folder {landing} does not exist.")
    refused = as_of_problem(landing, as_of)
    if refused:
        fail(refused)
    training = train_settings_or_fail(train_config)
    if chosen == "k8s" and part != "all":
        fail("The k8s executor renders the whole run only (--part all).")
    if chosen == "k8s":
        _render_k8s(landing, as_of, allow_missing_sources, training, max_concurrent)
        return
    console.print(f"Running Hearth on {landing} (HEARTH_HOME={settings.hearth_home()})")
    outcome = run_pipeline(
        landing,
        as_of,
        allow_missing_sources,
        train_config=training,
        say=console.print,
        accept_removals=accept_removals,
        executor=chosen,
        max_concurrent=max_concurrent,
        part=part,
    )
    _report_run(outcome)


def _render_k8s(landing, as_of, allow_missing_sources, training, max_concurrent) -> None:
    from hearth.cli.out_of_process import render_k8s_run  # dagster

    folder = render_k8s_run(landing, as_of, allow_missing_sources, training, max_concurrent)
    console.print(
        f"Wrote the Kubernetes Jobs of this run's steps to {folder} (run.yaml: the run config; "
        "step-jobs.yaml: one Job per step). Nothing was run here: on a cluster the run is "
        "launched by Dagster's K8sRunLauncher with this run config (docs/operations.md)."
    )


def demo(
    households: Annotated[int, HOUSEHOLDS] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    realistic: Annotated[bool, REALISTIC] = False,
    shared_keys: Annotated[bool, SHARED_KEYS] = False,
    partnership: Annotated[
        bool,
        typer.Option(
            "--partnership",
            help="Run the world's three authorities as a partnership, each its own home and "
            "list (hearth partnership run).",
        ),
    ] = False,
) -> None:
    """Synthesise a world into HEARTH_HOME and run the whole pipeline on it."""

    home = settings.hearth_home()
    landing, truth = home / "landing", home / "_truth"
    console.print(f"Synthesising {households:,} households into {landing}")
    from hearth.synth.agency import raw_folder  # numpy, pyarrow

    identifiers = "shared" if shared_keys else "agency"
    world = _world(realistic, None)
    try:
        with raw_folder(identifiers, None) as raw:
            _synth(
                landing,
                truth,
                households,
                seed,
                36,
                "2025-12",
                0.01,
                0.002,
                world,
                identifiers,
                raw,
            )
    except ValueError as e:
        fail(str(e))
    if partnership:
        partnership_run(landing)
        return
    outcome = run_pipeline(landing, say=console.print)
    _report_run(outcome)
