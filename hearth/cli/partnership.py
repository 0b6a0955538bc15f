"""`hearth partnership route|run`: a partnership of authorities, each its own Hearth home under
HEARTH_HOME/authorities/<code>/ (hearth/linkage/partnership.py routes the partnership's
landing; hearth/operations/partnership.py runs each authority)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hearth import settings
from hearth.atomic import read_record
from hearth.cli.console import console, fail, say
from hearth.cli.launch import train_settings_or_fail
from hearth.linkage.partnership import PartnershipError
from hearth.operations.partnership import route_partnership, run_partnership

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
        int, typer.Option(min=1, help="Authorities run at once (each its own process).")
    ] = 2,
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
    and publish each authority's list with it. One authority stopping leaves the others'
    lists published."""
    if not landing.is_dir():
        fail(f"The landing folder {landing} does not exist.")
    extra = ["--allow-missing-sources"] if allow_missing_sources else []
    training = train_settings_or_fail(train_config)
    try:
        _, runs = run_partnership(
            landing,
            authority or None,
            jobs,
            extra,
            say=say,
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
