"""The report's "Is the list working?" (issue 26): this list's hold-out in words, then crisis
rates of the households the lottery offered help against those it held out, with intervals and
counts (small numbers suppressed), and a visit's effect by agency and offer, and an offer's by
the suggested lead and by whose records the first reason rests on, as evidence. The
figures are hearth/modelling/evaluation/list_effect.py's, kept in run_summary.json
(`list_working`); the hold-out's sentence is `holdout`'s."""

from __future__ import annotations

from html import escape

from hearth.modelling.evaluation.list_effect import HORIZON_MONTHS, INTRO, power_sentence, shown
from hearth.publish.report.cells import _table

HEADS = ["Group", "Households", "Crises", "Crisis rate (95% interval)"]
RATIO = ["Comparison", "Households", "Crises", "Rate ratio (95% interval)"]


def _rows(rows: list[list[str]]) -> list[list[str]]:
    return [[escape(c) for c in r] for r in rows]


def list_working_section(summary: dict) -> str:
    holdout = (summary.get("holdout") or {}).get("sentence")
    parts = ['<section id="working"><h2>Is the list working?</h2>']
    if holdout:
        parts.append(f"<p>{escape(holdout)}</p>")
    section = summary.get("list_working")
    if not section:
        parts.append(
            "<p>No list with a hold-out is old enough yet to compare crisis rates "
            f"({HORIZON_MONTHS} months after the list are needed).</p></section>"
        )
        return "".join(parts)
    cells = shown(section)
    parts += [
        f"<p>{escape(INTRO.format(h=section['horizon_months']))}</p>",
        _table(HEADS, _rows(cells["groups"]), "num-2 num-3 num-4", "working-groups"),
        "<h3>The effect of an offer and of a visit</h3>",
        _table(RATIO, _rows(cells["effects"]), "num-2 num-3 num-4", "working-effects"),
    ]
    power = power_sentence(section)
    if power:
        parts.append(f'<p class="power">{escape(power)}</p>')
    for title, key, id_ in (
        ("A visit, by the agency that made it", "by_agency", "working-agency"),
        ("A visit, by the kind of offer", "by_offer", "working-offer"),
        ("Offered against held out, by the lead the list suggested", "by_lead", "working-lead"),
        (
            "Offered against held out, by whose records the first reason rests on",
            "by_reason",
            "working-reason",
        ),
    ):
        if cells[key]:
            parts += [
                f"<h3>{escape(title)}</h3>",
                _table(RATIO, _rows(cells[key]), "num-2 num-3 num-4", id_),
            ]
    parts.append("</section>")
    return "".join(parts)
