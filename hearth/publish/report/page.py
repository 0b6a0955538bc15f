"""The page: head with its Content Security Policy, navigation, sections, footer, the top of the
list as JSON for the search and sort script, and the CSS and JavaScript inlined from assets/."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from pathlib import Path

import polars as pl

from hearth.publish.ranked import area_counts, with_area_names
from hearth.publish.report.charts import tier_css
from hearth.publish.report.list_working import list_working_section
from hearth.publish.report.model_card import _model_card
from hearth.publish.report.plans import _plans
from hearth.publish.report.sections import (
    _areas,
    _data_quality,
    _headline,
    _how_to_read,
)
from hearth.publish.report.top import TOP_COLUMNS, _top_of_list, top_groups
from hearth.publish.roles import role_view
from hearth.publish.words import month_words, when_words
from hearth.suppression import SUPPRESSED

TOP_ROWS = 500


ASSETS = Path(__file__).with_name("assets")


CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)


def write_report(
    path: Path,
    summary: dict,
    ranked: pl.DataFrame,
    model_dir: Path | None,
    plan: dict | None = None,
    areas: pl.DataFrame | None = None,
    top_rows: int = TOP_ROWS,
) -> None:
    html = build_report(summary, ranked, model_dir, plan, areas, top_rows)
    Path(path).write_text(html, encoding="utf-8")


def build_report(
    summary: dict,
    ranked: pl.DataFrame,
    model_dir: Path | None,
    plan: dict | None = None,
    areas: pl.DataFrame | None = None,
    top_rows: int = TOP_ROWS,
) -> str:

    ranked = with_area_names(ranked)
    if areas is None:
        areas = area_counts(ranked)
    model_dir = Path(model_dir) if model_dir else None
    model = summary.get("model") or {}
    sections = [
        _headline(summary, ranked),
        _how_to_read(),
        _areas(areas),
        _data_quality(summary),
        _model_card(model, model_dir),
        list_working_section(summary),
    ]
    if plan:
        sections.append(_plans(plan))
    sections.append(_top_of_list(ranked, top_rows))
    version = model.get("version")
    top_json = _json_for_script(_top_data(ranked, top_rows))
    as_of = summary.get("as_of")
    title = f"Hearth: households to reach first, as of {month_words(as_of)}"
    nav = "".join(
        f'<a href="#{i}">{escape(t)}</a>'
        for i, t in (
            ("headline", "Headline"),
            ("areas", "Areas"),
            ("quality", "Data quality"),
            ("model", "Model card"),
            ("working", "Is the list working?"),
            *((("plans", "Visit plans"),) if plan else ()),
            ("list", "Top of the list"),
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_asset("report.css")}{tier_css()}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p class="sub">Model {escape(str(model.get("name", "")))} version {escape(str(version))} ·
made {escape(when_words(summary.get("generated_at")))} · list month {escape(str(as_of))} ·
one file, no network: it can be read offline
and e-mailed within the partnership.</p>
{_ranking_notice(model)}
<nav>{nav}</nav>
</header>
<main>
{"".join(sections)}
</main>
<footer>Made by Hearth from pseudonymised extracts. Counts of households and people in tables:
1 to 7 shown as {SUPPRESSED}, others rounded to the nearest 5 (NHS small-number rule); counts
of rows in the extracts are exact. Exact figures for intelligence officers are in
run_summary.json.</footer>
<script type="application/json" id="top-data">{top_json}</script>
<script type="application/json" id="top-groups">{_json_for_script(top_groups())}</script>
<script>{_asset("report.js")}</script>
</body>
</html>
"""


def _ranking_notice(model: dict) -> str:
    """Said at the top when the list is the contact-count ranking (no learned model beat it)."""
    said = model.get("contact_count")
    if not said:
        return ""
    return (
        '<p class="notice" role="note"><strong>The contact-count ranking.</strong> '
        f"{escape(said)}</p>"
    )


def _top_data(ranked: pl.DataFrame, top_rows: int) -> list[list]:
    view = role_view(ranked.sort("rank").head(top_rows), "commissioner")
    return [list(r) for r in view.select(TOP_COLUMNS).iter_rows()]


def _json_for_script(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")
