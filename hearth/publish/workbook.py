"""The ranked list as an XLSX workbook for people: a cover sheet, an area summary with small
numbers suppressed, and one sheet per local authority with the published top of the list.

Written with xlsxwriter in constant-memory mode, row by row: only the published top (by default
the top 5% of households) goes in, so a million households make a workbook of 50,000 rows. The
full list is in ranked_households.csv and .parquet beside it."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hearth.publish.ranked import COLUMN_LABELS, TIERS
from hearth.publish.suppression import headline, suppress
from hearth.publish.words import (
    HOW_TO_READ,
    KEY_NOTE,
    KEY_TITLE,
    LIMITS,
    NOT_FOR,
    ListMeta,
    reason_key_rows,
)

TIER_COLOURS = {
    "very high": {"bg_color": "#9B1C1C", "font_color": "#FFFFFF", "bold": True},
    "high": {"bg_color": "#F4A259", "font_color": "#1F1F1F"},
    "raised": {"bg_color": "#FDE68A", "font_color": "#1F1F1F"},
    "usual": {"bg_color": "#E5E7EB", "font_color": "#1F1F1F"},
}
WIDTHS = {
    "rank": 7,
    "household_pid": 22,
    "la_code": 14,
    "ward_code": 12,
    "lsoa_code": 12,
    "score": 14,
    "risk_tier": 10,
    "reason_1": 48,
    "reason_2": 48,
    "reason_3": 48,
    "lead_agency": 38,
    "lead_why": 56,
}
AREA_HEADERS = ["Local authority", "Ward", "Households", "High-risk households"]


def sheet_name(la_code: str, used: set[str]) -> str:
    """A valid, unique sheet name (at most 31 characters, none of []:*?/\\)."""
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in (la_code or "Unknown area"))[:31]
    name, i = base or "Unknown area", 2
    while name.lower() in used:
        suffix = f" ({i})"
        name, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(name.lower())
    return name


def write_workbook(
    path: Path,
    view: pl.DataFrame,
    meta: ListMeta,
    areas: pl.DataFrame | None = None,
    tiers: dict[str, int] | None = None,
) -> None:
    """`view`: the published top of the list in one role's columns, in rank order.
    `areas`: la_code, ward_code, households, high_risk (raw counts; suppressed here)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_urls": False})
    try:
        f = _formats(wb)
        _cover(wb, f, meta, view, tiers or {})
        if areas is not None:
            _areas(wb, f, areas)
        used = {"about this list", "areas"}
        if view.height:
            las = view["la_code"].fill_null("").unique().sort().to_list()
            for la in las:
                part = view.filter(pl.col("la_code").fill_null("") == la)
                _list_sheet(wb, f, sheet_name(la, used), part)
    finally:
        wb.close()


def _formats(wb) -> dict:
    return {
        "title": wb.add_format({"bold": True, "font_size": 16}),
        "h2": wb.add_format({"bold": True, "font_size": 12}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "bold": wb.add_format({"bold": True}),
        "head": wb.add_format(
            {
                "bold": True,
                "text_wrap": True,
                "valign": "top",
                "bg_color": "#1F3A5F",
                "font_color": "#FFFFFF",
                "border": 1,
            }
        ),
        "pct": wb.add_format({"num_format": "0.0%"}),
        "right": wb.add_format({"align": "right"}),
        "tier": {t: wb.add_format(c) for t, c in TIER_COLOURS.items()},
    }


def _cover(wb, f, meta: ListMeta, view: pl.DataFrame, tiers: dict[str, int]) -> None:
    ws = wb.add_worksheet("About this list")
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 100)
    ws.hide_gridlines(2)
    who = f" - the {meta.role.replace('_', ' ')} view" if meta.role else ""
    rows: list[tuple] = [
        ("title", f"Households to reach first{who}"),
        (),
        (
            "kv",
            "What this is",
            "Households ranked by their estimated chance of a crisis in the "
            "next 12 months, with the three main reasons and a suggested lead agency, made by "
            "Hearth from the partners' pseudonymised extracts.",
        ),
        ("kv", "As of", meta.as_of),
        ("kv", "Model", meta.model),
        ("kv", "Made", meta.generated_at),
        ("kv", "Households scored", headline(meta.households)),
        (
            "kv",
            "In this workbook",
            f"{meta.top_words}, one sheet per local authority. The full "
            "list of every household is in ranked_households.csv and ranked_households.parquet "
            "in the same folder.",
        ),
    ]
    for tier in TIERS:
        if tier in tiers:
            rows.append(("kv", f"Households in the {tier} tier", headline(tiers[tier])))
    if meta.role:
        rows.append(
            (
                "kv",
                "Whose view",
                f"{meta.role.replace('_', ' ')}: only the columns this role may see, and "
                "each household's strongest reasons among the records it may see; 'other "
                "agency information' where only other agencies' records explain a household.",
            )
        )
    rows += [(), ("h2", "How to read it")]
    rows += [("para", t) for t in HOW_TO_READ]
    rows += [(), ("h2", KEY_TITLE), ("para", KEY_NOTE)]
    rows += [("kv", words, meaning) for words, meaning in reason_key_rows()]
    rows += [(), ("h2", "It must not be used for")]
    rows += [("para", "- " + t) for t in NOT_FOR]
    rows += [
        ("para", LIMITS),
        (),
        ("h2", "Small numbers"),
        (
            "para",
            "Counts in the Areas sheet follow the NHS small-number rule: 1 to 7 is "
            "shown as *, other counts are rounded to the nearest 5.",
        ),
    ]
    for r, row in enumerate(rows):
        if not row:
            continue
        kind = row[0]
        if kind == "title":
            ws.write(r, 0, row[1], f["title"])
        elif kind == "h2":
            ws.write(r, 0, row[1], f["h2"])
        elif kind == "kv":
            ws.write(r, 0, row[1], f["bold"])
            ws.write(r, 1, row[2], f["wrap"])
        else:
            ws.write(r, 1, row[1], f["wrap"])


def _areas(wb, f, areas: pl.DataFrame) -> None:
    ws = wb.add_worksheet("Areas")
    ws.set_column(0, 1, 16)
    ws.set_column(2, 3, 20)
    ws.write_row(0, 0, AREA_HEADERS, f["head"])
    ws.freeze_panes(1, 0)
    rows = areas.sort(["high_risk", "la_code", "ward_code"], descending=[True, False, False])
    for r, (la, ward, n, high) in enumerate(
        rows.select("la_code", "ward_code", "households", "high_risk").iter_rows(), start=1
    ):
        ws.write_row(r, 0, [la, ward])
        ws.write_string(r, 2, suppress(n), f["right"])
        ws.write_string(r, 3, suppress(high), f["right"])
    ws.autofilter(0, 0, max(rows.height, 1), len(AREA_HEADERS) - 1)


def _list_sheet(wb, f, name: str, part: pl.DataFrame) -> None:
    ws = wb.add_worksheet(name)
    cols = part.columns
    for i, c in enumerate(cols):
        ws.set_column(i, i, WIDTHS.get(c, 14))
    ws.set_row(0, 30)
    ws.write_row(0, 0, [COLUMN_LABELS.get(c, c) for c in cols], f["head"])
    ws.freeze_panes(1, 2 if "household_pid" in cols else 1)
    ws.autofilter(0, 0, max(part.height, 1), len(cols) - 1)
    score_i = cols.index("score") if "score" in cols else None
    tier_i = cols.index("risk_tier") if "risk_tier" in cols else None
    pct, tier_fmt = f["pct"], f["tier"]
    write_row, write_number, write_string = ws.write_row, ws.write_number, ws.write_string
    if score_i is None or tier_i != score_i + 1:  # a view without score and tier side by side
        for r, row in enumerate(part.iter_rows(), start=1):
            write_row(r, 0, row)
        return
    rest = tier_i + 1
    for r, row in enumerate(part.iter_rows(), start=1):
        write_row(r, 0, row[:score_i])
        if row[score_i] is not None:
            write_number(r, score_i, row[score_i], pct)
        if row[tier_i] is not None:
            write_string(r, tier_i, row[tier_i], tier_fmt.get(row[tier_i]))
        write_row(r, rest, row[rest:])
