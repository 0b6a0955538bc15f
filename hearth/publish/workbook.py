"""The ranked list as an XLSX workbook for people: a cover sheet, an area summary with small
numbers suppressed, and one sheet per local authority with the published top of the list.

Written with xlsxwriter in constant-memory mode, row by row: only the published top (by default
the top 5% of households) goes in, so a million households make a workbook of 50,000 rows. The
full list is in ranked_households.csv and .parquet beside it."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hearth.publish.ranked import COLUMN_LABELS, TIER_COLOURS, TIERS
from hearth.publish.words import (
    HOW_TO_READ,
    KEY_NOTE,
    KEY_TITLE,
    LIMITS,
    NOT_FOR,
    ListMeta,
    month_words,
    reason_key_rows,
    when_words,
)
from hearth.suppression import SUPPRESSED, headline, rounded

# Each tier's cell format, in the tiers' one set of colours (hearth/publish/ranked.py).
TIER_FORMATS = {
    t: {"bg_color": fill, "font_color": ink, "bold": t == TIERS[0]}
    for t, (fill, ink) in TIER_COLOURS.items()
}
WIDTHS = {
    "rank": 7,
    "household_pid": 22,
    "la_name": 18,
    "la_code": 12,
    "ward_name": 18,
    "ward_code": 12,
    "lsoa_name": 18,
    "lsoa_code": 12,
    "score": 14,
    "risk_tier": 10,
    # prose columns narrow enough that a sheet fitted to one page wide prints readably
    "reason_1": 36,
    "reason_2": 36,
    "reason_3": 36,
    "lead_agency": 24,
    "lead_why": 44,
    "also_agencies": 44,
}
# Columns that hold codes and pseudonyms, never prose: not wrapped. Every other text column
# (reasons, leads, "why", any column a later change adds) is wrapped in its cells and its rows
# made tall enough for the text, so it reads whole and prints without running into the next row.
UNWRAPPED = ("rank", "household_pid", "la_code", "ward_code", "lsoa_code", "score", "risk_tier")
# A text column not in WIDTHS is as wide as its longest value needs, within these bounds.
NEW_COLUMN_WIDTH = (10, 48)
AREA_COLUMNS = (
    ("la_name", "Local authority", 22),
    ("la_code", "Local authority code", 14),
    ("ward_name", "Ward", 22),
    ("ward_code", "Ward code", 12),
    ("households", "Households", 12),
    ("high_risk", "High-risk households", 14),
)
AREA_HEADERS = [label for _, label, _ in AREA_COLUMNS]
# A risk tier is written as its place in TIERS (1 = very high) shown as its words, so that
# sorting or filtering the column goes in risk order, not alphabetically.
TIER_ORDER = {t: i + 1 for i, t in enumerate(TIERS)}
COVER_WIDTHS = (34, 100)  # the cover's two columns: what, and its words or number
LINE_HEIGHT = 15  # points per line of 11-point text
ROW_PADDING = 3  # points above and below a cell's lines
# Characters' widths in digit widths of 11-point Calibri (Carlito in LibreOffice), rounded up;
# any other lower-case letter, digit or sign counts 1.0 and an upper-case letter 1.25.
CHAR_WIDTHS = {
    **dict.fromkeys(" .,;:'!|()[]ijlftr-", 0.6),
    **dict.fromkeys("mw", 1.5),
    **dict.fromkeys("MW@%", 1.7),
}


def sheet_name(la_name: str, used: set[str]) -> str:
    """A valid, unique sheet name from a local authority's name (or its code where it has no
    name): at most 31 characters, none of []:*?/\\, not starting or ending with '."""
    text = "".join("_" if ch in "[]:*?/\\" else ch for ch in (la_name or "Unknown area"))
    base = text.strip().strip("'").strip()[:31].strip()
    base = base or "Unknown area"
    if base.lower() == "history":  # a name Excel keeps for itself
        base = "History (area)"
    name, i = base, 2
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
    import xlsxwriter  # xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_urls": False})
    try:
        f = _formats(wb)
        _cover(wb, f, meta, view, tiers or {})
        if areas is not None:
            _areas(wb, f, areas, meta)
        used = {"about this list", "areas"}
        if view.height:
            by = "la_name" if "la_name" in view.columns else "la_code"
            las = view.select(pl.col(by).fill_null("")).unique().sort(by)[by].to_list()
            for la in las:
                part = view.filter(pl.col(by).fill_null("") == la)
                _list_sheet(wb, f, sheet_name(la, used), part, meta)
    finally:
        wb.close()


def _formats(wb) -> dict:
    return {
        "title": wb.add_format({"bold": True, "font_size": 16}),
        "h2": wb.add_format({"bold": True, "font_size": 12}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "bold": wb.add_format({"bold": True}),
        "bold_wrap": wb.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
        "left": wb.add_format({"align": "left", "valign": "top"}),
        "count_left": wb.add_format({"num_format": "#,##0", "align": "left", "valign": "top"}),
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
        "pct": wb.add_format({"num_format": "0.0%", "valign": "top"}),
        "top": wb.add_format({"valign": "top"}),
        "count": wb.add_format({"num_format": "#,##0"}),
        "right": wb.add_format({"align": "right"}),
        "tier": {
            t: wb.add_format({**c, "num_format": f'"{t}"', "align": "left", "valign": "top"})
            for t, c in TIER_FORMATS.items()
        },
    }


def footer_text(meta: ListMeta) -> str:
    """The printed footer of every sheet: what the list is, its as-of month and the page."""
    who = f" ({meta.role.replace('_', ' ')} view)" if meta.role else ""
    words = f"Hearth: households to reach first{who}, as of {month_words(meta.as_of)}"
    return f"&L{words.replace('&', '&&')}&RPage &P of &N"


def print_setup(ws, meta: ListMeta, header_rows: int = 1) -> None:
    """Landscape A4, fitted to one page wide and as many tall as the rows need (the cover's
    text stays readable rather than shrunk onto one page), the heading row repeated on every
    printed page, and the footer."""
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.fit_to_pages(1, 0)
    if header_rows:
        ws.repeat_rows(0, header_rows - 1)
    ws.set_footer(footer_text(meta))


def text_width(text: str) -> float:
    """A text's width in digit widths of the default font (what a column's width counts), from
    each character's width in Calibri/Carlito, rounded up so an estimate errs wide."""
    return sum(CHAR_WIDTHS.get(ch, 1.25 if ch.isupper() else 1.0) for ch in text)


def wrapped_lines(text: str, width: float) -> int:
    """How many lines `text` takes wrapped in a column `width` characters wide, as a
    spreadsheet wraps it: at spaces, a word longer than the line broken within itself, and a
    new line at each line break. The estimate errs on the tall side: a row a line too tall
    prints with white space, a row a line too short prints over the next."""
    room = max(width - 1.0, 3.0)  # the cell's padding
    space = CHAR_WIDTHS[" "]
    lines = 0
    for para in str(text).split("\n"):
        n, used = 1, 0.0
        for word in para.split():
            w = text_width(word)
            if used and used + space + w > room:
                n, used = n + 1, 0.0
            while w > room:  # a long word (a pseudonym, a URL) breaks where it must
                n, w = n + 1, w - room
            used += (space if used else 0.0) + w
        lines += n
    return max(lines, 1)


def row_height(texts: list[tuple[str, float]]) -> float:
    """Points for a row tall enough for the longest of its wrapped texts: (text, column width)."""
    lines = max((wrapped_lines(t, w) for t, w in texts if t), default=1)
    return LINE_HEIGHT * lines + 2 * ROW_PADDING


def header_height(labels: list[str], widths: list[float]) -> float:
    """Points for a heading row tall enough for its longest wrapped label."""
    return row_height(list(zip(labels, widths, strict=True)))


def column_widths(part: pl.DataFrame) -> list[float]:
    """Each column's width: the agreed width of a known column, else what its longest value
    (or its label) needs, within NEW_COLUMN_WIDTH."""
    low, high = NEW_COLUMN_WIDTH
    widths = []
    for c in part.columns:
        if c in WIDTHS:
            widths.append(WIDTHS[c])
            continue
        longest = len(COLUMN_LABELS.get(c, c))
        if part.height and part.schema[c] == pl.String:
            longest = max(longest, int(part[c].str.len_chars().max() or 0))
        widths.append(min(max(longest + 2, low), high))
    return widths


def _cover(wb, f, meta: ListMeta, view: pl.DataFrame, tiers: dict[str, int]) -> None:
    ws = wb.add_worksheet("About this list")
    ws.set_column(0, 0, COVER_WIDTHS[0])
    ws.set_column(1, 1, COVER_WIDTHS[1])
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
        ("kv", "As of", f"{month_words(meta.as_of)} ({meta.as_of})"),
        ("kv", "Model", meta.model),
        *([("kv", "How this list was ranked", meta.ranking_notice)] if meta.ranking_notice else []),
        *([("kv", "Hold-out", meta.holdout_notice)] if meta.holdout_notice else []),
        ("kv", "Made", when_words(meta.generated_at)),
        ("num", "Households scored", meta.households),
        (
            "kv",
            "In this workbook",
            f"{meta.top_words}, one sheet per local authority. Every household, in the "
            "commissioners' view, is in ranked_households.csv in the run's output folder.",
        ),
    ]
    for tier in TIERS:
        if tier in tiers:
            rows.append(("num", f"Households in the {tier} tier", tiers[tier]))
    if meta.role:
        rows.append(
            (
                "kv",
                "Whose view",
                f"{meta.role.replace('_', ' ')}: only the columns the data contracts give this "
                "role, and each household's strongest reasons among the records it may see, at "
                "the level of detail it may see; 'other agency information' where only records "
                "it may not see explain a household, and 'another agency' as the lead where "
                "they chose it.",
            )
        )
    rows.append(
        (
            "kv",
            "Sorting",
            "Risk tier sorts in risk order (very high, high, raised, usual); rank sorts the "
            "list back into its order.",
        )
    )
    rows += [(), ("h2", "How to read it")]
    rows += [("para", t) for t in HOW_TO_READ]
    rows += [(), ("h2", KEY_TITLE), ("para", KEY_NOTE)]
    key = reason_key_rows(meta.role or "commissioner")
    rows += [("kv", words, meaning) for words, meaning in key]
    rows += [(), ("h2", "It must not be used for")]
    rows += [("para", "- " + t) for t in NOT_FOR]
    rows += [
        ("para", LIMITS),
        (),
        ("h2", "Small numbers"),
        (
            "para",
            "Counts of households in the Areas sheet follow the NHS small-number rule: 1 to 7 "
            "is shown as *, other counts are rounded to the nearest 5.",
        ),
    ]
    print_setup(ws, meta, header_rows=0)
    ws.print_area(0, 0, len(rows) - 1, 1)
    for r, row in enumerate(rows):
        if not row:
            continue
        kind = row[0]
        if kind == "title":
            ws.set_row(r, 2 * LINE_HEIGHT)
            ws.write(r, 0, row[1], f["title"])
        elif kind == "h2":
            ws.set_row(r, LINE_HEIGHT + 2 * ROW_PADDING)
            ws.write(r, 0, row[1], f["h2"])
        elif kind == "num":  # a count is a number, unless it is 1-7 (never shown)
            ws.set_row(r, row_height([(row[1], COVER_WIDTHS[0])]))
            ws.write(r, 0, row[1], f["bold_wrap"])
            shown = headline(row[2])
            if shown == SUPPRESSED:
                ws.write_string(r, 1, shown, f["left"])
            else:
                ws.write_number(r, 1, int(row[2]), f["count_left"])
        elif kind == "kv":
            ws.set_row(r, row_height([(row[1], COVER_WIDTHS[0]), (row[2], COVER_WIDTHS[1])]))
            ws.write(r, 0, row[1], f["bold_wrap"])
            ws.write_string(r, 1, row[2], f["wrap"])
        else:
            ws.set_row(r, row_height([(row[1], COVER_WIDTHS[1])]))
            ws.write_string(r, 1, row[1], f["wrap"])


def _areas(wb, f, areas: pl.DataFrame, meta: ListMeta) -> None:
    """Households and high-risk households per ward: numbers as numbers, '*' where a count of
    1 to 7 is suppressed."""
    ws = wb.add_worksheet("Areas")
    for i, (_, _, width) in enumerate(AREA_COLUMNS):
        ws.set_column(i, i, width)
    ws.set_row(0, header_height(AREA_HEADERS, [w for _, _, w in AREA_COLUMNS]))
    ws.write_row(0, 0, AREA_HEADERS, f["head"])
    ws.freeze_panes(1, 0)
    print_setup(ws, meta)
    if "la_name" not in areas.columns:
        areas = areas.with_columns(pl.col("la_code").alias("la_name"))
    if "ward_name" not in areas.columns:
        areas = areas.with_columns(pl.col("ward_code").alias("ward_name"))
    # most high-risk households first by the count as shown (a suppressed count after the
    # shown ones and before 0), so the order tells no more than the cells do
    shown = pl.col("high_risk").map_elements(
        lambda n: 0.5 if rounded(n) is None else float(rounded(n)), return_dtype=pl.Float64
    )
    rows = areas.with_columns(shown.alias("_shown")).sort(
        ["_shown", "la_name", "ward_name"], descending=[True, False, False]
    )
    names = [c for c, _, _ in AREA_COLUMNS]
    for r, row in enumerate(rows.select(names).iter_rows(), start=1):
        for c in range(4):
            if row[c] is not None:
                ws.write_string(r, c, str(row[c]))
        for c in (4, 5):
            shown = rounded(row[c]) if row[c] is not None else None
            if shown is None:
                ws.write_string(r, c, SUPPRESSED if row[c] is not None else "", f["right"])
            else:
                ws.write_number(r, c, shown, f["count"])
    ws.autofilter(0, 0, max(rows.height, 1), len(AREA_HEADERS) - 1)


def _list_sheet(wb, f, name: str, part: pl.DataFrame, meta: ListMeta) -> None:
    ws = wb.add_worksheet(name)
    cols = part.columns
    widths = column_widths(part)
    wrap_i = {i for i, c in enumerate(cols) if c not in UNWRAPPED and part.schema[c] == pl.String}
    for i, width in enumerate(widths):
        ws.set_column(i, i, width, f["wrap"] if i in wrap_i else f["top"])
    labels = [COLUMN_LABELS.get(c, c) for c in cols]
    ws.set_row(0, header_height(labels, widths))
    ws.write_row(0, 0, labels, f["head"])
    ws.freeze_panes(1, 2 if "household_pid" in cols else 1)
    ws.autofilter(0, 0, max(part.height, 1), len(cols) - 1)
    print_setup(ws, meta)
    score_i = cols.index("score") if "score" in cols else None
    tier_i = cols.index("risk_tier") if "risk_tier" in cols else None
    fmt = [f["wrap"] if i in wrap_i else f["top"] for i in range(len(cols))]
    pct, tier_fmt, write, write_string = f["pct"], f["tier"], ws.write, ws.write_string
    wrapped = sorted(wrap_i)
    for r, row in enumerate(part.iter_rows(), start=1):
        # the row's height first: in constant-memory mode a row is final once the next begins
        ws.set_row(r, row_height([(row[i], widths[i]) for i in wrapped if row[i]]))
        for i, value in enumerate(row):
            if value is None:
                continue
            if i == score_i:
                ws.write_number(r, i, value, pct)
            elif i == tier_i and value in TIER_ORDER:
                ws.write_number(r, i, TIER_ORDER[value], tier_fmt[value])
            elif isinstance(value, str):  # text is text: never read as a formula or link
                write_string(r, i, value, fmt[i])
            else:
                write(r, i, value, fmt[i])
