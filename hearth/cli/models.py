"""`hearth models list|compare|promote`: model versions side by side, and a deliberate promotion."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Compare model versions in the MLflow registry and promote a champion.",
    no_args_is_help=True,
)
# Wide enough for the metrics table when output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

COLUMNS = (
    ("precision_at_1pct", "P@1%"),
    ("recall_at_1pct", "R@1%"),
    ("precision_at_5pct", "P@5%"),
    ("recall_at_5pct", "R@5%"),
    ("auc", "AUC"),
    ("average_precision", "AP"),
    ("brier", "Brier"),
)


def version_rows(tracking_uri: str | None = None) -> list[dict]:
    """Every version of the model with its aliases, windows, decision and key metrics."""
    from models.registry import MODEL_NAME, mlflow_client

    _, client = mlflow_client(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(MODEL_NAME)
    except MlflowException:
        return []
    aliases: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for mv in client.search_model_versions(f"name='{MODEL_NAME}'"):
        run = client.get_run(mv.run_id)
        rows.append(
            {
                "version": str(mv.version),
                "aliases": sorted(aliases.get(str(mv.version), [])),
                "candidate": mv.tags.get("candidate", ""),
                "train_as_of": run.data.params.get("train_as_of", ""),
                "valid_as_of": run.data.params.get("valid_as_of", ""),
                "promotion": mv.tags.get("promotion", ""),
                "manual_promotion": mv.tags.get("manual_promotion", ""),
                "metrics": run.data.metrics,
            }
        )
    return sorted(rows, key=lambda r: int(r["version"]))


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


@app.command("list")
def list_versions() -> None:
    """Every version with its aliases, windows and key validation metrics."""
    rows = version_rows()
    if not rows:
        err.print("No model versions yet: run the pipeline (hearth run or hearth demo) first.")
        raise typer.Exit(1)
    t = Table(title="household_crisis_risk")
    for h in ("version", "alias", "model", "trained", "validated", *(c[1] for c in COLUMNS)):
        t.add_column(h)
    for r in rows:
        t.add_row(
            r["version"],
            ", ".join(r["aliases"]),
            r["candidate"],
            r["train_as_of"],
            r["valid_as_of"],
            *(_fmt(r["metrics"].get(k)) for k, _ in COLUMNS),
        )
    console.print(t)


@app.command()
def compare(
    versions: Annotated[list[str], typer.Argument(help="Two or more version numbers.")],
) -> None:
    """Key metrics of the given versions side by side, with the change from the first."""
    rows = {r["version"]: r for r in version_rows()}
    missing = [v for v in versions if v not in rows]
    if missing:
        err.print(f"No such version: {', '.join(missing)}. See `hearth models list`.")
        raise typer.Exit(2)
    t = Table(title="Validation metrics (same definitions for every version)")
    t.add_column("metric")
    for v in versions:
        t.add_column(f"v{v}" + (f" @{','.join(rows[v]['aliases'])}" if rows[v]["aliases"] else ""))
    base = rows[versions[0]]["metrics"]
    for key, label in COLUMNS:
        cells = []
        for v in versions:
            val = rows[v]["metrics"].get(key)
            delta = (
                ""
                if v == versions[0] or val is None or key not in base
                else f" ({val - base[key]:+.3f})"
            )
            cells.append(_fmt(val) + delta)
        t.add_row(label, *cells)
    t.add_row("validated on", *(rows[v]["valid_as_of"] for v in versions))
    console.print(t)
    windows = {rows[v]["valid_as_of"] for v in versions}
    if len(windows) > 1:
        console.print(
            "[yellow]Note:[/] these versions were validated on different windows; "
            "compare them on the same window before promoting."
        )


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="The version to make @champion.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, in words (kept with the version).")],
) -> None:
    """Make a version the champion by hand, recording who-decided-why on the version."""
    if len(reason.strip()) < 10:
        err.print(
            "Give a reason of at least a few words with --reason; it is kept with the version."
        )
        raise typer.Exit(2)
    from models.registry import promote_by_hand

    try:
        previous = promote_by_hand(version, reason.strip())
    except LookupError as e:
        err.print(str(e))
        raise typer.Exit(2) from None
    was = f" (version {previous} is now @challenger)" if previous else ""
    console.print(f"Version {version} is now @champion{was}. Reason recorded.")


@app.command()
def rules() -> None:
    """Print the lead-agency rules (models/lead_agency.yaml) in the order they are tried."""
    from models.reasons import RULES_FILE, load_rules

    spec = load_rules()
    t = Table(title=f"Who should lead ({RULES_FILE.name}): the first rule that holds wins")
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
