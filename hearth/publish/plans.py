"""`plans/`: each team's visit plan at its capacity (a CSV and XLSX per team in its agency's view,
and plan_summary.json), written with the other deliverables when HEARTH_HOME/capacity.yaml
exists, or later into a published folder with the report that shows them (`hearth plan`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from hearth import settings
from hearth.publish.capacity import allocate, load_capacity
from hearth.publish.published import Explainer, load_published, replace_path
from hearth.publish.ranked import DEFAULT_TOP, published_top
from hearth.publish.report import write_report
from hearth.publish.roles import role_view
from hearth.publish.words import ListMeta, list_meta
from hearth.publish.workbook import write_workbook


def capacity_file() -> Path | None:
    """HEARTH_HOME/capacity.yaml if there is one: then every published run makes visit plans."""
    path = settings.hearth_home() / "capacity.yaml"
    return path if path.is_file() else None


def write_plans(
    folder: Path,
    ranked_top: pl.DataFrame,
    capacity: Path,
    summary: dict,
    leads: Mapping[str, str],
) -> dict:
    """`folder/plans/`: one CSV and XLSX per team in its agency's view, and plan_summary.json.
    `leads`: each lead's agency, as the lead rules declare it
    (hearth.modelling.scoring.reasons.lead_agencies)."""

    teams = load_capacity(capacity)
    plan = allocate(ranked_top, teams, leads)
    out = folder / "plans"
    out.mkdir(parents=True, exist_ok=True)
    for tp in plan.teams:
        view = role_view(tp.households, tp.team.agency).with_columns(
            tp.households["visit_order"], pl.lit(tp.team.name).alias("team")
        )
        view = view.select(
            "visit_order", "team", *[c for c in view.columns if c not in ("visit_order", "team")]
        )
        view.with_columns(pl.col("score").round(6)).write_csv(out / f"{tp.team.slug}.csv")
        meta = list_meta(summary, tp.planned, 1, tp.team.agency)
        meta = ListMeta(
            **{
                **meta.__dict__,
                "top_words": f"the visit plan of {tp.team.name}: {tp.planned:,} households "
                f"for {tp.team.visits_per_month:,} visits",
            }
        )
        write_workbook(out / f"{tp.team.slug}.xlsx", view.drop("team"), meta)
    data = {"as_of": summary.get("as_of"), "capacity_file": capacity.name, **plan.summary()}
    (out / "plan_summary.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def plan_published(
    folder: Path,
    capacity: Path,
    leads: Mapping[str, str],
    top: float = DEFAULT_TOP,
    explain: Explainer | None = None,
) -> dict:
    """`hearth plan`: (re)write plans/ in a published folder and the report that shows them
    (households of the top left unexplained explained by `explain`, as `publish_roles`)."""

    load_capacity(capacity)  # a bad file stops here, before anything is replaced
    ranked, summary = load_published(folder)
    top_rows = published_top(ranked, top)
    if explain is not None:
        top_rows = explain(top_rows, ranked.height, summary)
    result: dict = {}

    def write(tmp: Path) -> None:
        tmp.mkdir()
        result.update(write_plans(tmp, top_rows, capacity, summary, leads))
        for p in (tmp / "plans").iterdir():
            p.rename(tmp / p.name)
        (tmp / "plans").rmdir()

    replace_path(folder, "plans", write)
    replace_path(
        folder,
        "report.html",
        lambda p: write_report(p, summary, ranked, folder / "model", result),
    )
    return result
