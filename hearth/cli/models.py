"""`hearth models list|compare|promote|rules`: model versions side by side, a deliberate
promotion, and who should lead. The versions come from models/versions.py, the promotion from
models/registry.py; this module only prints them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hearth.cli.console import fail
from hearth.cli.console import wide as console


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


def list_versions() -> None:
    """Every version with its aliases, windows and key validation metrics."""
    from models.versions import KEY_METRICS, version_rows

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
            ", ".join(r["aliases"]),
            r["candidate"],
            r["train_as_of"],
            r["valid_as_of"],
            *(_fmt(r["metrics"].get(k)) for k, _ in KEY_METRICS),
        )
    console.print(t)


def compare(
    versions: Annotated[list[str], typer.Argument(help="Two or more version numbers.")],
) -> None:
    """Key metrics of the given versions side by side, with the change from the first."""
    from models.versions import compare_versions, version_rows

    try:
        c = compare_versions(version_rows(), versions)
    except LookupError as e:
        fail(f"{e} See `hearth models list`.", label="")
    t = Table(title="Validation metrics (same definitions for every version)")
    t.add_column("metric")
    for v, r in zip(versions, c.versions, strict=True):
        t.add_column(f"v{v}" + (f" @{','.join(r['aliases'])}" if r["aliases"] else ""))
    for label, cells in c.metrics:
        t.add_row(
            label,
            *(_fmt(val) + ("" if d is None else f" ({d:+.3f})") for val, d in cells),
        )
    t.add_row("validated on", *(r["valid_as_of"] for r in c.versions))
    console.print(t)
    if not c.same_window:
        console.print(
            "[yellow]Note:[/] these versions were validated on different windows; "
            "compare them on the same window before promoting."
        )


def promote(
    version: Annotated[str, typer.Argument(help="The version to make @champion.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, in words (kept with the version).")],
) -> None:
    """Make a version the champion by hand, recording who-decided-why on the version."""
    if len(reason.strip()) < 10:
        fail(
            "Give a reason of at least a few words with --reason; it is kept with the version.",
            label="",
        )
    from models.registry import promote_by_hand

    try:
        previous = promote_by_hand(version, reason.strip())
    except LookupError as e:
        fail(str(e), label="")
    was = f" (version {previous} is now @challenger)" if previous else ""
    console.print(f"Version {version} is now @champion{was}. Reason recorded.")


def rules() -> None:
    """Print the lead-agency rules (models/lead_agency.yaml) in the order they are tried."""
    from models.reasons import RULES_FILE, load_rules

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
