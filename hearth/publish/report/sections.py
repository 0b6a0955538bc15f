"""The page's sections but the model card: the headline, how to read the list, the area
picture, the data-quality picture, the visit plans and the top of the list."""

from __future__ import annotations

from html import escape

import polars as pl

from hearth.publish.areas import names_sentence
from hearth.publish.ranked import TIER_WORDS, TIERS
from hearth.publish.report.behind import behind_html
from hearth.publish.report.cells import _agg, _card, _exact, _sort_value, _table
from hearth.publish.report.charts import TIER_FILL, _bars_svg, _columns_svg
from hearth.publish.report.linkage import token_linkage_section
from hearth.publish.report.retention import retention_section
from hearth.publish.words import (
    HOW_TO_READ,
    KEY_NOTE,
    KEY_TITLE,
    LIMITS,
    NOT_FOR,
    percent,
    reason_key_rows,
)
from hearth.suppression import SUPPRESSED, headline, rounded

WARD_BARS = 15  # wards in the chart of the most high-risk households

EXPECTED_K = 1000


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
            f"the sum of their chances: about {percent(expected / k)} of them" if k else "",
        ),
    ]
    tier_svg = _bars_svg(
        [(t, float(tiers.get(t, 0)), headline(int(tiers.get(t, 0)))) for t in TIERS],
        colours=[TIER_FILL[t] for t in TIERS],
        name="Households in each risk tier",
    )
    return f"""<section id="headline"><h2>Headline</h2>
<div class="cards">{"".join(cards)}</div>
<figure>{tier_svg}<figcaption>Households in each risk tier.</figcaption></figure>
</section>"""


def _how_to_read() -> str:
    items = "".join(f"<li>{escape(t)}</li>" for t in HOW_TO_READ)
    nots = "".join(f"<li>{escape(t)}</li>" for t in NOT_FOR)
    key = "".join(
        f"<dt>{escape(w)}</dt><dd>{escape(d)}</dd>" for w, d in reason_key_rows("commissioner")
    )
    return f"""<section id="read"><h2>How to read this list</h2><ul>{items}</ul>
<h3 id="key">{escape(KEY_TITLE)}</h3><p>{escape(KEY_NOTE)}</p><dl class="key">{key}</dl>
<div class="warn"><h3>It must not be used for</h3><ul>{nots}</ul><p>{escape(LIMITS)}</p></div>
</section>"""


def _area_label(name: object, code: object) -> str:
    """An area as people read it: its name with its code, or the code alone where the name is
    the code (no name in the lookup)."""
    name, code = str(name if name is not None else ""), str(code if code is not None else "")
    return escape(code if name in ("", code) else f"{name} ({code})")


def ward_chart_items(areas: pl.DataFrame, bars: int = WARD_BARS) -> tuple[list, int]:
    """The wards to chart: those whose high-risk count may be shown (not 1 to 7), most first by
    the shown (rounded) count, then by name; and how many wards with a suppressed count were
    left out. A ward with none is not a ward 'with the most'."""
    shown = areas.with_columns(
        pl.col("high_risk")
        .map_elements(lambda n: rounded(n) if n is not None else None, return_dtype=pl.Int64)
        .alias("_shown")
    )
    left_out = shown.filter(pl.col("_shown").is_null() & (pl.col("high_risk") > 0)).height
    top = (
        shown.filter(pl.col("_shown") > 0)
        .sort(["_shown", "la_name", "ward_name"], descending=[True, False, False])
        .head(bars)
    )
    items = [
        (
            f"{ward} ({la})" if ward != ward_code else f"{ward_code} ({la})",
            float(n),
            f"{n:,}",
        )
        for la, ward, ward_code, n in top.select(
            "la_name", "ward_name", "ward_code", "_shown"
        ).iter_rows()
    ]
    return items, left_out


def _areas(areas: pl.DataFrame) -> str:
    if "la_name" not in areas.columns or "ward_name" not in areas.columns:
        areas = areas.with_columns(
            pl.col("la_code").alias("la_name"), pl.col("ward_code").alias("ward_name")
        )
    la = (
        areas.group_by("la_code")
        .agg(pl.col("la_name").first(), pl.col("households").sum(), pl.col("high_risk").sum())
        .sort("la_name", "la_code")
    )
    la_rows = [
        [_area_label(name, code), _agg(n), _agg(high)]
        for code, name, n, high in la.select(
            "la_code", "la_name", "households", "high_risk"
        ).iter_rows()
    ]
    wards = areas.with_columns(
        pl.col("high_risk").map_elements(_sort_value, return_dtype=pl.Float64).alias("_shown")
    ).sort(["_shown", "la_name", "ward_name"], descending=[True, False, False])
    ward_rows = [
        [_area_label(la_name, la_code), _area_label(ward_name, ward), _agg(n), _agg(high)]
        for la_code, la_name, ward, ward_name, n, high in wards.select(
            "la_code", "la_name", "ward_code", "ward_name", "households", "high_risk"
        ).iter_rows()
    ]
    items, left_out = ward_chart_items(areas)
    chart = _bars_svg(
        items,
        colours=["#b3541e"],
        name="High-risk households (rounded to the nearest 5) in the wards with the most",
    )
    wards_word = f"{left_out:,} ward{'s' if left_out != 1 else ''}"
    figure = (
        f'<figure id="ward-chart">{chart}<figcaption>The {len(items)} wards with the most '
        "high-risk households (rounded to the nearest 5)."
        + (
            f" {wards_word} with 1 to 7 high-risk households "
            f"{'are' if left_out != 1 else 'is'} left out: small numbers are not shown."
            if left_out
            else ""
        )
        + "</figcaption></figure>"
        if items
        else '<p id="ward-chart">No ward has more than 7 high-risk households'
        + (f" ({wards_word} with 1 to 7)" if left_out else "")
        + ", so none is charted: small numbers are not shown.</p>"
    )
    ward_table = _table(
        ["Local authority", "Ward", "Households", "High-risk households"],
        ward_rows,
        "num-3 num-4",
        "ward-table",
    )
    return f"""<section id="areas"><h2>The area picture</h2>
<p>High-risk households are those in the very high and high tiers (the top 5% of all
households). Counts of households follow the small-number rule: 1 to 7 is shown as
{SUPPRESSED}, others are rounded to the nearest 5.</p>
<h3>Local authorities</h3>
{_table(["Local authority", "Households", "High-risk households"], la_rows, "num-2 num-3")}
<h3>Wards with the most high-risk households</h3>
{figure}
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
            f"{escape(k.replace('_', ' '))}: {_exact(v)}" for k, v in rules.items()
        )
        rows.append(
            [
                escape(name.replace("_", " ")),
                escape(f"{s.get('first_month')} to {s.get('latest_month')}"),
                _exact(s.get("rows_received")),
                _exact(s.get("rows_accepted")),
                _exact(s.get("rows_quarantined")),
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
                _exact(lk.get("events")),
                _exact(lk.get("linked")),
                percent(rate),
                ", ".join(
                    f"{escape(k.replace('_', ' '))}: {_exact(v)}" for k, v in unlinked.items()
                )
                or "none",
            ]
        )
    months: dict[str, list[dict]] = {}
    for m in summary.get("extracts_by_month") or []:
        months.setdefault(m["source"], []).append(m)
    details = []
    for source, ms in months.items():
        chart = _columns_svg(
            [(m["extract_month"], float(m["rows_received"] or 0)) for m in ms],
            name=f"Rows received per month from {source.replace('_', ' ')}",
        )
        table = _table(
            ["Month", "Rows received", "Accepted", "Quarantined"],
            [
                [
                    escape(m["extract_month"]),
                    _exact(m["rows_received"]),
                    _exact(m["rows_accepted"]),
                    _exact(m["rows_quarantined"]),
                ]
                for m in ms
            ],
            "num-2 num-3 num-4",
        )
        details.append(
            f"<details><summary>{escape(source.replace('_', ' '))}: {len(ms)} monthly "
            f"extracts</summary><figure>{chart}<figcaption>Rows received per month."
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
rows received = rows accepted + rows quarantined. These are counts of rows in the extracts, not
of people or households, so they are shown exactly.</p>
{source_table}
{_unbalanced(sources)}
<h3>Area names</h3>
<p id="area-names">{escape(names_sentence(summary.get("area_names")))}</p>
{_area_rules(summary.get("area_names"))}
<h3>Retention</h3>
{retention_section(summary.get("retention"))}
<h3>Linkage of events to households</h3>
{link_table}
{token_linkage_section(summary.get("token_linkage"))}
<h3>Sources behind, and records kept though no longer landed</h3>
{behind_html(summary)}
<h3>Extracts refused</h3>{refused_html}
<h3>Files not read</h3>{not_read_html}
<h3>Per source and month</h3>{"".join(details)}
</section>"""


def _unbalanced(sources: dict) -> str:
    """A sentence naming each source whose rows do not all add up: a file under its folder that
    was not read may hold rows that are in neither count."""
    out = []
    for name, s in sources.items():
        if s.get("balanced") is False:
            n = int(s.get("files_not_read") or 0)
            why = (
                f"{n:,} file{'s' if n != 1 else ''} under its folder {'were' if n != 1 else 'was'} "
                "not read (below)"
                if n
                else "rows received are not rows accepted plus rows quarantined"
            )
            out.append(f"{name.replace('_', ' ')}: {why}")
    if not out:
        return ""
    said = escape("; ".join(out))
    return f'<p class="warn" id="unbalanced">Not every row is accounted for: {said}.</p>'


def _area_rules(area_names: dict | None) -> str:
    """The rows of the area names lookup that were not used, by rule (rows, not people)."""
    rules = (area_names or {}).get("rows_not_used_by_rule") or {}
    if not rules:
        return ""
    rows = [[escape(rule.replace("_", " ")), _exact(n)] for rule, n in rules.items()]
    return _table(["Lookup rows not used, by rule", "Rows"], rows, "num-2", "area-rules")
