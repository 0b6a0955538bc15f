"""The page's sections but the model card: the headline, how to read the list, the area
picture, the data-quality picture, the visit plans and the top of the list."""

from __future__ import annotations

from html import escape

import polars as pl

from hearth.publish.ranked import COLUMN_LABELS, PUBLIC_COLUMNS, TIER_WORDS, TIERS
from hearth.publish.report.cells import _agg, _card, _sort_value, _table
from hearth.publish.report.charts import TIER_FILL, _bars_svg, _columns_svg
from hearth.publish.suppression import SUPPRESSED, headline, suppress
from hearth.publish.words import HOW_TO_READ, KEY_NOTE, KEY_TITLE, LIMITS, NOT_FOR, reason_key_rows

EXPECTED_K = 1000


TOP_COLUMNS = tuple(PUBLIC_COLUMNS)  # the top of the list shows what the CSV shows


def _headline(summary: dict, ranked: pl.DataFrame) -> str:
    n = int(summary.get("households_scored", ranked.height))
    tiers = summary.get("risk_tiers") or {}
    k = min(EXPECTED_K, ranked.height)
    expected = float(ranked.sort("rank").head(k)["score"].sum()) if k else 0.0
    cards = [
        _card("hl-households", "Households scored", headline(n), n),
        *[
            _card(
                f"hl-tier-{t.replace(' ', '-')}",
                f"{t.capitalize()} risk",
                headline(int(tiers.get(t, 0))),
                int(tiers.get(t, 0)),
                TIER_WORDS[t],
                f"tier-{t.replace(' ', '-')}",
            )
            for t in TIERS
        ],
        _card(
            "hl-expected",
            f"Crises expected in the top {k:,}",
            f"{expected:,.0f}",
            round(expected, 3),
            f"the sum of their chances: about {expected / k:.0%} of them" if k else "",
        ),
    ]
    tier_svg = _bars_svg(
        [(t, float(tiers.get(t, 0)), headline(int(tiers.get(t, 0)))) for t in TIERS],
        colours=[TIER_FILL[t] for t in TIERS],
    )
    return f"""<section id="headline"><h2>Headline</h2>
<div class="cards">{"".join(cards)}</div>
<figure>{tier_svg}<figcaption>Households in each risk tier.</figcaption></figure>
</section>"""


def _how_to_read() -> str:
    items = "".join(f"<li>{escape(t)}</li>" for t in HOW_TO_READ)
    nots = "".join(f"<li>{escape(t)}</li>" for t in NOT_FOR)
    key = "".join(f"<dt>{escape(w)}</dt><dd>{escape(d)}</dd>" for w, d in reason_key_rows())
    return f"""<section id="read"><h2>How to read this list</h2><ul>{items}</ul>
<h3 id="key">{escape(KEY_TITLE)}</h3><p>{escape(KEY_NOTE)}</p><dl class="key">{key}</dl>
<div class="warn"><h3>It must not be used for</h3><ul>{nots}</ul><p>{escape(LIMITS)}</p></div>
</section>"""


def _areas(areas: pl.DataFrame) -> str:
    la = (
        areas.group_by("la_code")
        .agg(pl.col("households").sum(), pl.col("high_risk").sum())
        .sort("la_code")
    )
    la_rows = [[escape(str(r[0])), _agg(r[1]), _agg(r[2])] for r in la.iter_rows()]
    wards = areas.with_columns(
        pl.col("high_risk").map_elements(_sort_value, return_dtype=pl.Float64).alias("_shown")
    ).sort(["_shown", "la_code", "ward_code"], descending=[True, False, False])
    ward_rows = [
        [escape(str(la_code)), escape(str(ward)), _agg(n), _agg(high)]
        for la_code, ward, n, high in wards.select(
            "la_code", "ward_code", "households", "high_risk"
        ).iter_rows()
    ]
    chart = _bars_svg(
        [
            (f"{w} ({la_code})", _sort_value(h), suppress(h))
            for la_code, w, h in wards.head(15)
            .select("la_code", "ward_code", "high_risk")
            .iter_rows()
        ],
        colours=["#b3541e"],
    )
    ward_table = _table(
        ["Local authority", "Ward", "Households", "High-risk households"],
        ward_rows,
        "num-3 num-4",
        "ward-table",
    )
    return f"""<section id="areas"><h2>The area picture</h2>
<p>High-risk households are those in the very high and high tiers (the top 5% of all
households). Counts follow the small-number rule: 1 to 7 is shown as {SUPPRESSED}, others are
rounded to the nearest 5.</p>
<h3>Local authorities</h3>
{_table(["Local authority", "Households", "High-risk households"], la_rows, "num-2 num-3")}
<h3>Wards with the most high-risk households</h3>
<figure>{chart}<figcaption>The 15 wards with the most high-risk households (rounded).
</figcaption></figure>
<details><summary>All {len(ward_rows):,} wards</summary>
{ward_table}
</details>
</section>"""


def _data_quality(summary: dict) -> str:
    sources = summary.get("sources") or {}
    rows = []
    for name, s in sources.items():
        rules = s.get("quarantined_by_rule") or {}
        rule_text = ", ".join(
            f"{escape(k.replace('_', ' '))}: {suppress(v)}" for k, v in rules.items()
        )
        rows.append(
            [
                escape(name.replace("_", " ")),
                escape(f"{s.get('first_month')} to {s.get('latest_month')}"),
                _agg(s.get("rows_received")),
                _agg(s.get("rows_accepted")),
                _agg(s.get("rows_quarantined")),
                rule_text or "none",
            ]
        )
    link_rows = []
    for name, lk in (summary.get("linkage") or {}).items():
        rate = lk.get("linkage_rate")
        unlinked = lk.get("unlinked_by_reason") or {}
        link_rows.append(
            [
                escape(name.replace("_", " ")),
                _agg(lk.get("events")),
                _agg(lk.get("linked")),
                "" if rate is None else f"{rate:.1%}",
                ", ".join(
                    f"{escape(k.replace('_', ' '))}: {suppress(v)}" for k, v in unlinked.items()
                )
                or "none",
            ]
        )
    months: dict[str, list[dict]] = {}
    for m in summary.get("extracts_by_month") or []:
        months.setdefault(m["source"], []).append(m)
    details = []
    for source, ms in months.items():
        chart = _columns_svg([(m["extract_month"], _sort_value(m["rows_received"])) for m in ms])
        table = _table(
            ["Month", "Rows received", "Accepted", "Quarantined"],
            [
                [
                    escape(m["extract_month"]),
                    _agg(m["rows_received"]),
                    _agg(m["rows_accepted"]),
                    _agg(m["rows_quarantined"]),
                ]
                for m in ms
            ],
            "num-2 num-3 num-4",
        )
        details.append(
            f"<details><summary>{escape(source.replace('_', ' '))}: {len(ms)} monthly "
            f"extracts</summary><figure>{chart}<figcaption>Rows received per month (rounded)."
            f"</figcaption></figure>{table}</details>"
        )
    refused = summary.get("refused_extracts") or []
    refused_html = (
        _table(
            ["Source", "Month", "File", "Rule", "Problem"],
            [
                [
                    escape(str(r.get(k, "")))
                    for k in ("source", "extract_month", "file_name", "rule", "message")
                ]
                for r in refused
            ],
        )
        if refused
        else "<p>No extract was refused.</p>"
    )
    not_read = summary.get("not_read") or []
    not_read_html = (
        _table(
            ["Entry in the landing", "Source", "Why it was not read", "Stops the run"],
            [
                [
                    escape(str(u.get("path", ""))),
                    escape(str(u.get("source") or "(top level)")),
                    escape(str(u.get("why", ""))),
                    "yes" if u.get("blocking") else "no",
                ]
                for u in not_read
            ],
        )
        if not_read
        else "<p>Every file in the landing was read.</p>"
    )
    source_table = _table(
        ["Source", "Months", "Rows received", "Accepted", "Quarantined", "Quarantined by rule"],
        rows,
        "num-3 num-4 num-5",
        "source-table",
    )
    link_table = _table(
        ["Source", "Events", "Linked", "Linkage rate", "Not linked, by reason"],
        link_rows,
        "num-2 num-3 num-4",
        "linkage-table",
    )
    return f"""<section id="quality"><h2>The data-quality picture</h2>
<p>Every row an agency sent is either accepted or quarantined with the rule that caught it:
rows received = rows accepted + rows quarantined.</p>
{source_table}
<h3>Linkage of events to households</h3>
{link_table}
<h3>Extracts refused</h3>{refused_html}
<h3>Files not read</h3>{not_read_html}
<h3>Per source and month</h3>{"".join(details)}
</section>"""


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
                "" if p is None else f"{p:.0%}",
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


def _top_of_list(ranked: pl.DataFrame, top_rows: int) -> str:
    n = min(top_rows, ranked.height)
    heads = "".join(
        f'<th scope="col" aria-sort="none"><button type="button" data-col="{i}">'
        f"{escape(COLUMN_LABELS[c])}</button></th>"
        for i, c in enumerate(TOP_COLUMNS)
    )
    return f"""<section id="list"><h2>The top {n:,} households</h2>
<p>Search by ward, local authority, reason, lead agency or the start of a household pseudonym;
click a column heading to sort. The whole list is in ranked_households.xlsx and .csv.</p>
<div class="tools"><label for="search">Search</label>
<input id="search" type="search" autocomplete="off"
 placeholder="e.g. a ward code, fire, domestic abuse">
<span id="shown" aria-live="polite"></span></div>
<div class="scroll"><table id="top-table"><thead><tr>{heads}</tr></thead>
<tbody></tbody></table></div>
</section>"""
