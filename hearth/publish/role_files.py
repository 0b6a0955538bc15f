"""`roles/<role>/ranked_households.{csv,xlsx}`: the published top as each role may see it,
written with the other deliverables or later into a published folder (`hearth publish --role`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from hearth.publish.published import Explainer, load_published, replace_path
from hearth.publish.ranked import DEFAULT_TOP, area_counts, published_top
from hearth.publish.roles import role_view
from hearth.publish.words import ListMeta, list_meta
from hearth.publish.workbook import write_workbook


def write_role_files(
    folder: Path,
    top_rows: pl.DataFrame,
    meta: ListMeta,
    areas,
    same_workbook: Path | None = None,
    tiers: dict[str, int] | None = None,
) -> None:
    """`folder/ranked_households.{csv,xlsx}` in the role's view. `same_workbook`: a workbook
    already written for this role's view (the commissioners' main one), copied, not rewritten."""

    assert meta.role is not None
    view = role_view(top_rows, meta.role)
    folder.mkdir(parents=True, exist_ok=True)
    view.with_columns(pl.col("score").round(6)).write_csv(folder / "ranked_households.csv")
    if same_workbook is not None:
        shutil.copyfile(same_workbook, folder / "ranked_households.xlsx")
    else:
        write_workbook(folder / "ranked_households.xlsx", view, meta, areas, tiers)


def publish_roles(
    folder: Path,
    roles: tuple[str, ...],
    top: float = DEFAULT_TOP,
    explain: Explainer | None = None,
) -> list[Path]:
    """`hearth publish --role`: (re)write roles/<role>/ in a published folder. Households of
    the top the scoring step left unexplained (beyond what the outputs show by default) are
    explained by `explain` (the CLI's: hearth/modelling/scoring/on_demand.py)."""
    ranked, summary = load_published(folder)
    top_rows = published_top(ranked, top)
    if explain is not None:
        top_rows = explain(top_rows, ranked.height, summary)
    areas = area_counts(ranked)
    (folder / "roles").mkdir(exist_ok=True)
    out = []
    for role in roles:
        meta = list_meta(summary, top_rows.height, top, role)
        out.append(
            replace_path(
                folder / "roles",
                role,
                lambda p, m=meta: write_role_files(
                    p, top_rows, m, areas, tiers=summary.get("risk_tiers")
                ),
            )
        )
    return out
