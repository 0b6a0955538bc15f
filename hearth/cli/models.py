"""`hearth models list|compare|promote|rules`: model versions side by side, a deliberate
promotion, and who should lead. The versions come from hearth/modelling/registry/versions.py, the
promotion from
hearth/modelling/registry/client.py; this module only prints them."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from hearth import settings
from hearth.cli.console import fail
from hearth.cli.console import wide as console
from hearth.modelling.registry.promotion import promote_by_hand
from hearth.modelling.registry.promotion import unpin as take_pin_off
from hearth.modelling.registry.versions import KEY_METRICS, compare_versions, version_rows


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


def list_versions() -> None:
    """Every version with its aliases, windows and key validation metrics, and who promoted
    each, when and why."""

    rows = version_rows()
    if not rows:
        fail(
            "No model versions yet: run the pipeline (hearth run or hearth demo) first.",
            1,
            label="",
        )
    t = Table(title="household_crisis_risk")
    for h in ("version", "alias", "model", "trained", "validated", *(c[1] for c in KEY_METRICS)):
        t.add_column(h)
    for r in rows:
        t.add_row(
            r["version"],
            ", ".join(r["aliases"]) + (" (pinned)" if r["pinned"] else ""),
            r["candidate"],
            r["train_as_of"],
            r["valid_as_of"],
            *(_fmt(r["metrics"].get(k)) for k, _ in KEY_METRICS),
        )
    console.print(t)
    audit = Table(title="Promotions: who, when and why (newest last)")
    for h in ("version", "alias", "by", "when", "why"):
        audit.add_column(h)
    for r in rows:
        for h in r["history"]:
            audit.add_row(r["version"], f"@{h['alias']}", h["by"], h["at"], h["why"])
    if audit.row_count:
        console.print(audit)


def compare(
    versions: Annotated[list[str], typer.Argument(help="Two or more version numbers.")],
) -> None:
    """Key metrics of the given versions side by side, with the change from the first, and
    each version's model, features, calibration and promotion reason."""

    try:
        c = compare_versions(version_rows(), versions)
    except LookupError as e:
        fail(f"{e} See `hearth models list`.", label="")
    t = Table(title="Validation metrics (same definitions for every version)")
    t.add_column("metric")
    for v, r in zip(versions, c.versions, strict=True):
        t.add_column(f"v{v}" + (f" @{','.join(r['aliases'])}" if r["aliases"] else ""))
    t.add_row("model", *(r["candidate"].replace("_", " ") for r in c.versions))
    t.add_row("features", *(str(r["features"]) for r in c.versions))
    t.add_row("calibration", *(r["calibration"] for r in c.versions))
    for label, cells in c.metrics:
        t.add_row(
            label,
            *(_fmt(val) + ("" if d is None else f" ({d:+.3f})") for val, d in cells),
        )
    t.add_row("validated on", *(r["valid_as_of"] for r in c.versions))
    t.add_row("promotion", *(r["promotion"] for r in c.versions))
    console.print(t)
    if not c.same_window:
        console.print(
            "[yellow]Note:[/] these versions were validated on different windows; "
            "compare them on the same window before promoting."
        )


def _published_note(version: str, pinned: bool) -> str | None:
    """What the published list was scored with, if not `version`, and how to republish."""

    summary = settings.outputs_dir() / "latest" / "run_summary.json"
    try:
        scored = json.loads(summary.read_text(encoding="utf-8")).get("model", {}).get("version")
    except (OSError, ValueError):
        return None
    if scored is None or str(scored) == str(version):
        return None
    then = (
        f"version {version}, which is pinned"
        if pinned
        else f"version {version}, or a new version that does at least as well"
    )
    return (
        f"The published list ({summary.parent.resolve().name}) is still version {scored}'s: "
        f"it changes at the next run (`hearth run --landing <landing>`), which scores and "
        f"publishes with the champion then ({then})."
    )


def promote(
    version: Annotated[str, typer.Argument(help="The version to make @champion.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, in words (kept with the version).")],
    by: Annotated[
        str | None, typer.Option("--by", help="Who decided (default: your login name).")
    ] = None,
    pin: Annotated[
        bool,
        typer.Option(
            "--pin",
            help="Keep it @champion: routine runs register their versions as @challenger "
            "until `hearth models unpin`.",
        ),
    ] = False,
) -> None:
    """Make a version the champion by hand, recording who decided, when and why."""
    if len(reason.strip()) < 10:
        fail(
            "Give a reason of at least a few words with --reason; it is kept with the version.",
            label="",
        )
    if by is not None and not by.strip():
        fail("--by needs a name (or leave it out to record your login name).", label="")

    try:
        done = promote_by_hand(version, reason.strip(), by=by and by.strip(), pin=pin)
    except LookupError as e:
        fail(str(e), label="")
    if done.already:
        console.print(
            f"Version {version} is @champion already; its promotion record is unchanged."
            + (" It is now pinned." if pin else "")
        )
    else:
        was = f" (version {done.previous} is now @challenger)" if done.previous else ""
        pinned = " and pinned" if pin else ""
        console.print(f"Version {version} is now @champion{pinned}{was}. Reason recorded.")
    if not (pin or done.pinned_before):
        console.print(
            "A routine run may still replace it if its new version does as well on the same "
            "window; promote with --pin to stop that."
        )
    note = _published_note(version, pin or done.pinned_before)
    if note:
        console.print(note)


def unpin() -> None:
    """Let routine runs promote again: take the pin off the champion."""

    pin = take_pin_off()
    if pin is None:
        console.print("No version is pinned; runs promote by the gate as usual.")
    else:
        console.print(
            f"Version {pin['version']} is no longer pinned (pinned by {pin['by']} at "
            f"{pin['at']}); the next run promotes by the gate."
        )


def rules() -> None:
    """Print the lead-agency rules (hearth/modelling/scoring/lead_agency.yaml) in the order they are
    tried."""
    from hearth.modelling.scoring.reasons import RULES_FILE, load_rules  # numpy

    spec = load_rules()
    t = Table(
        title=f"Who should lead ({RULES_FILE.name}): the first rule that holds and is about "
        "a record one of the household's reasons names wins"
    )
    for col in ("#", "lead", "why", "when"):
        t.add_column(col)
    for i, rule in enumerate(spec["rules"], 1):
        when = " and ".join(f"{c['feature']} {c['op']} {c['value']}" for c in rule["when"])
        t.add_row(str(i), rule["lead"], rule.get("why", ""), when)
    console.print(t)
    fallback = Table(title="When no rule holds: by the strongest reason")
    fallback.add_column("theme or agency")
    fallback.add_column("lead")
    for key, lead in {**spec.get("by_theme", {}), **spec["by_agency"]}.items():
        fallback.add_row(key, lead)
    console.print(fallback)
