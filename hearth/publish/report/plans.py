"""The report's visit plans section: each team's households and expected precision
(hearth/publish/plans.py makes the plans)."""

from __future__ import annotations

from html import escape

from hearth.publish.report.cells import _table
from hearth.publish.words import percent


def _plans(plan: dict) -> str:
    rows = []
    for t in plan.get("teams", []):
        p = t.get("expected_precision")
        rows.append(
            [
                escape(t["team"]),
                escape(t["agency"].replace("_", " ")),
                escape(", ".join(t.get("areas") or []) or "everywhere"),
                f"{t['visits_per_month']:,}",
                f"{t['planned']:,}",
                f"{t['led_by_this_agency']:,}",
                f"{t['expected_crises']:,.1f}",
                percent(p),
            ]
        )
    return f"""<section id="plans"><h2>Visit plans at each team's capacity</h2>
<p>The top {plan.get("households_considered", 0):,} households were shared among the teams in
rank order; each household goes to one team at most: a team of the suggested lead agency first,
then the team with the narrowest area. Expected precision is the mean chance of a crisis among
a team's households: the share of its visits expected to meet a household heading for one.
{plan.get("households_not_planned", 0):,} households at the top were left for next month or for
another route. Each team's list is in plans/, in its agency's view.</p>
{
        _table(
            [
                "Team",
                "Agency",
                "Areas",
                "Visits a month",
                "Planned",
                "Led by this agency",
                "Crises expected",
                "Expected precision",
            ],
            rows,
            "num-4 num-5 num-6 num-7 num-8",
            "plan-table",
        )
    }
</section>"""
