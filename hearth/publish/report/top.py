"""The top of the list on the page: the households' data for the page's script, a few columns
a person reads across, a page of households at a time (assets/report.js draws the rows)."""

from __future__ import annotations

from html import escape

import polars as pl

from hearth.publish.ranked import COLUMN_LABELS, PUBLIC_COLUMNS, TIERS

TOP_COLUMNS = tuple(PUBLIC_COLUMNS)  # the top of the list shows what the CSV shows

# The top of the list on screen: the list's columns gathered into a few columns a person reads
# across (the areas in one cell, the three reasons in one, the lead with its why), so a row
# fits the width of the page with every word showing. Each: (key, heading, the list's columns
# it shows; it sorts on them in this order). A list column in none of them (one a later change
# adds) gets a column of its own.
TOP_GROUPS = (
    ("rank", "Rank", ("rank",)),
    ("pid", "Household (pseudonym)", ("household_pid",)),
    ("area", "Area", ("la_name", "la_code", "ward_name", "ward_code", "lsoa_name", "lsoa_code")),
    ("score", COLUMN_LABELS["score"], ("score",)),
    ("tier", "Risk tier", ("risk_tier",)),
    ("reasons", "Reasons", ("reason_1", "reason_2", "reason_3")),
    ("lead", "Suggested lead agency, and why", ("lead_agency", "lead_why")),
)
PAGE_SIZES = (25, 50, 100)  # households a page of the top of the list shows


def top_groups(columns: tuple[str, ...] = TOP_COLUMNS) -> list[dict]:
    """The screen's columns over the list's `columns`: key, heading and the places in each
    row of the page's data of the columns it shows (a group with none of them is left out)."""
    out, used = [], set()
    for key, label, cols in TOP_GROUPS:
        at = [columns.index(c) for c in cols if c in columns]
        used.update(cols)
        if at:
            out.append({"key": key, "label": label, "cols": at})
    for i, c in enumerate(columns):
        if c not in used:
            out.append({"key": f"col-{c}", "label": COLUMN_LABELS.get(c, c), "cols": [i]})
    return out


def _column_places() -> str:
    """Where the page's script finds the score, the tier and the pseudonym in each row of the
    top of the list, and the tiers in risk order (for sorting)."""
    return (
        f'data-score-col="{TOP_COLUMNS.index("score")}" '
        f'data-tier-col="{TOP_COLUMNS.index("risk_tier")}" '
        f'data-pid-col="{TOP_COLUMNS.index("household_pid")}" '
        f'data-tier-order="{escape("|".join(TIERS))}"'
    )


def _top_of_list(ranked: pl.DataFrame, top_rows: int) -> str:
    n = min(top_rows, ranked.height)
    heads = "".join(
        f'<th scope="col" class="g-{escape(g["key"])}" aria-sort="none">'
        f'<button type="button" data-group="{i}">{escape(g["label"])}</button></th>'
        for i, g in enumerate(top_groups())
    )
    sizes = "".join(
        f'<option value="{k}"{" selected" if k == PAGE_SIZES[0] else ""}>{k}</option>'
        for k in PAGE_SIZES
    )
    return f"""<section id="list"><h2>The top {n:,} households</h2>
<p>{PAGE_SIZES[0]} households a page: move between pages with the buttons under the table (or
choose how many a page shows). Search by ward, LSOA, local authority (by name or code), reason,
lead agency or the start of a household pseudonym; a column heading's button sorts by it (risk
tier sorts in risk order, the area by local authority, ward and LSOA). Printing prints every
household found. The whole list is in ranked_households.xlsx and .csv.</p>
<div class="tools"><label for="search">Search</label>
<input id="search" type="search" autocomplete="off"
 placeholder="e.g. a ward, fire, domestic abuse">
<span id="shown" aria-live="polite"></span></div>
<div class="table-wrap"><table id="top-table" {_column_places()}>
<caption class="visually-hidden">The top {n:,} households, a page at a time</caption>
<thead><tr>{heads}</tr></thead>
<tbody></tbody></table></div>
<nav class="pager" aria-label="Pages of the top of the list">
<button type="button" id="page-first">First</button>
<button type="button" id="page-prev">Previous</button>
<span id="page-at" aria-live="polite"></span>
<button type="button" id="page-next">Next</button>
<button type="button" id="page-last">Last</button>
<label for="page-size">Households a page</label>
<select id="page-size">{sizes}</select>
</nav>
</section>"""
