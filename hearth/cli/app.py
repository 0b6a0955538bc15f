"""The `hearth` command. Errors are sentences, not tracebacks; long work shows progress."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from hearth import settings
from hearth.cli import models as models_commands
from hearth.cli.deliver import audit_command, plan_command, publish_command, reidentify_command
from hearth.cli.pseudonymise import pseudonymise_command
from hearth.cli.quarantine import quarantine_app
from hearth.cli.ui import ui_command

app = typer.Typer(
    help="Hearth: checked, linked, pseudonymised extracts to a ranked list of households.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


@app.callback()
def _private(ctx: typer.Context) -> None:
    """Whatever Hearth writes is its owner's only (umask 077), and a HEARTH_HOME that others
    could read is tightened before anything is done with it (hearth/privacy/access.py)."""
    from hearth.privacy.access import ensure_private_home, private_process

    private_process()
    if ctx.invoked_subcommand not in ("pseudonymise", "synth"):  # these run at an agency
        ensure_private_home(create=False)


app.add_typer(models_commands.app, name="models")
app.add_typer(quarantine_app, name="quarantine")

app.command(
    "pseudonymise", help="Pseudonymise identifier columns before an extract leaves an agency."
)(pseudonymise_command)
app.command("publish", help="Write each role's view of a published list (roles/<role>/).")(
    publish_command
)
app.command("plan", help="Split the top of the list into each team's visit plan.")(plan_command)
app.command(
    "reidentify", help="At an agency: find the ranked households you already know (audited)."
)(reidentify_command)
app.command("audit", help="List the audit log of re-identifications.")(audit_command)
app.command("ui", help="Start the Dagster UI and the MLflow UI on 127.0.0.1; Ctrl-C stops both.")(
    ui_command
)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(code)


def _synth(
    landing: Path,
    truth: Path,
    households: int,
    seed: int,
    months: int,
    end: str,
    mess_rate: float,
    move_rate: float,
):
    from hearth.synth import synthesise

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
        )


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Landing folder to write.")],
    truth: Annotated[Path, typer.Option("--truth", help="Folder for the truth (evaluation only).")],
    households: Annotated[int, typer.Option(help="Households in the world.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 7,
    months: Annotated[int, typer.Option(help="Monthly extracts to write.")] = 36,
    end: Annotated[str, typer.Option(help="Last extract month, YYYY-MM.")] = "2025-12",
    mess_rate: Annotated[float, typer.Option(help="Share of messy records.")] = 0.01,
    move_rate: Annotated[float, typer.Option(help="Monthly chance a person moves house.")] = 0.002,
) -> None:
    """Write a synthetic landing tree for all six sources, and the truth beside it."""
    try:
        s = _synth(out, truth, households, seed, months, end, mess_rate, move_rate)
    except ValueError as e:
        fail(str(e))
    console.print(
        f"Wrote {s.households:,} households ({s.persons:,} people), {s.months} months "
        f"{s.first_month}..{s.last_month} to {out}; truth in {truth}."
    )


def _report_run(outcome) -> None:
    if outcome.success:
        console.print(f"[bold green]Published[/] {outcome.output_folder}")
        console.print(f"Run summary: {outcome.output_folder / 'run_summary.json'}")
        return
    err.print(
        "[bold red]The run stopped.[/] Nothing was published; the last outputs are as they were."
    )
    for p in outcome.problems:
        err.print(f" • {p}", markup=False)  # "[source_extract · rule]" is text, not markup
    last = settings.hearth_home() / "last_run.json"
    err.print(f"Details: Dagster run {outcome.run_id} (see hearth ui) and {last}.")
    raise typer.Exit(1)


@app.command()
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
) -> None:
    """Run the whole pipeline through Dagster: ingest, check, link, features, train, publish."""
    from pipelines.launch import run_pipeline

    if not landing.is_dir():
        fail(f"The landing folder {landing} does not exist.")
    training = _train_settings(train_config) if train_config else None
    console.print(f"Running Hearth on {landing} (HEARTH_HOME={settings.hearth_home()})")
    outcome = run_pipeline(
        landing, as_of, allow_missing_sources, train_config=training, say=console.print
    )
    _report_run(outcome)


def _train_settings(path: Path) -> dict:
    """Training settings from a file, checked against the training step's config."""
    import yaml
    from pydantic import ValidationError

    from pipelines.defs.modelling.assets import TrainConfig

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        fail(f"Could not read training settings from {path} ({type(e).__name__}).")
    if not isinstance(data, dict):
        fail(f"{path} must hold settings as name: value pairs.")
    unknown = sorted(set(data) - set(TrainConfig.model_fields))
    if unknown:
        fail(
            f"{path}: unknown training setting '{unknown[0]}'; known: "
            f"{', '.join(TrainConfig.model_fields)}."
        )
    try:
        TrainConfig(**data)
    except ValidationError as e:
        first = e.errors()[0]
        fail(f"{path}: training setting '{first['loc'][0]}': {first['msg']}.")
    return data


@app.command()
def demo(
    households: Annotated[int, typer.Option(help="Households in the synthetic world.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Synthesise a world into HEARTH_HOME and run the whole pipeline on it."""
    from pipelines.launch import run_pipeline

    home = settings.hearth_home()
    landing, truth = home / "landing", home / "_truth"
    console.print(f"Synthesising {households:,} households into {landing}")
    _synth(landing, truth, households, seed, 36, "2025-12", 0.01, 0.002)
    outcome = run_pipeline(landing, say=console.print)
    _report_run(outcome)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
