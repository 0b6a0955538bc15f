"""What a commissioner reads and prints (issue 16, points 6, 7 and 9), read back from the files:
the workbook's print setup, numeric Areas cells, wrapped reasons and tiers in risk order; the
report's names beside codes, data-quality rows that add up exactly, one format for shares,
timestamps for people, no literal backticks, and a ward chart of wards that may be shown."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import polars as pl
import pytest

from hearth.publish.deliver import write_deliverables
from hearth.publish.ranked import TIERS, area_counts, risk_tiers
from hearth.publish.report import build_report
from hearth.publish.report.sections import ward_chart_items
from hearth.publish.words import month_words, percent, when_words
from hearth.publish.workbook import header_height, sheet_name
from hearth.suppression import SUPPRESSED, rounded
from tests.unit.publish.test_deliver_units import _ranked

N = 400
NAMES = {"E06000901": "Northmoor", "E06000902": "Easthaven", "E06000903": "Westerleigh"}


def _world() -> pl.DataFrame:
    """400 households in three authorities and 40 wards, tiers cut as a run cuts them, with
    names (one authority left without a name: shown as its code)."""
    ranked = _ranked([["residents", "residents", None]] * N)
    las = [list(NAMES)[i % 3] for i in range(N)]
    wards = [f"E0590{1 + i % 3}{(i // 3) % 14:03d}" for i in range(N)]
    return ranked.with_columns(
        pl.Series("la_code", las),
        pl.Series("la_name", [NAMES[c] if c != "E06000903" else c for c in las]),
        pl.Series("ward_code", wards),
        pl.Series("ward_name", [f"Ward {w[-3:]} of {w[5]}" for w in wards]),
        pl.Series("risk_tier", risk_tiers(list(range(1, N + 1)), N)),
        pl.Series("score", [0.6 * (1 - i / N) for i in range(N)]),
        pl.Series(
            "reason_1",
            ["emergency admission for a fall, 12 months ago, and a long reason " * 2] * N,
        ),
    )


SUMMARY = {
    "as_of": "2026-01",
    "generated_at": "2026-12-01T19:35:40+00:00",
    "households_scored": N,
    "risk_tiers": {"very high": 4, "high": 16, "raised": 60, "usual": 320},
    "model": {
        "name": "household_crisis_risk",
        "version": "3",
        "metrics": {
            "precision_at_1pct": 0.28,
            "recall_at_1pct": 0.051,
            "auc": 0.8312,
            "lift_over_baseline_at_1pct": 1.84,
        },
    },
    "sources": {
        "health": {
            "first_month": "2023-01",
            "latest_month": "2025-12",
            "rows_received": 24_455,
            "rows_accepted": 23_978,
            "rows_quarantined": 477,
            "quarantined_by_rule": {"future_date": 474, "duplicate_row": 3},
        },
        "fire": {
            "first_month": "2023-01",
            "latest_month": "2025-12",
            "rows_received": 12,
            "rows_accepted": 9,
            "rows_quarantined": 3,
            "quarantined_by_rule": {"unknown_code": 3},
        },
    },
    "linkage": {
        "fire": {"events": 9, "linked": 8, "linkage_rate": 8 / 9, "unlinked_by_reason": {"x": 1}}
    },
    "extracts_by_month": [
        {
            "source": "fire",
            "extract_month": "2025-12",
            "rows_received": 12,
            "rows_accepted": 9,
            "rows_quarantined": 3,
        }
    ],
    "area_names": {
        "file": "reference/areas.csv",
        "status": "used",
        "rows_received": 50,
        "rows_used": 48,
        "rows_not_used_by_rule": {"pattern:area_code": 2},
        "codes": {
            "LA": {"on_list": 3, "named": 2, "shown_as_code": 1},
            "WARD": {"on_list": 42, "named": 42, "shown_as_code": 0},
        },
        "codes_shown_as_code": 1,
    },
}


@pytest.fixture(scope="module")
def delivered(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("delivered")
    write_deliverables(folder, _world(), SUMMARY, top=0.2, roles=("commissioner", "fire"))
    return folder


def _books(folder: Path) -> list[Path]:
    return [folder / "ranked_households.xlsx", *sorted(folder.glob("roles/*/*.xlsx"))]


# ---- the workbook --------------------------------------------------------------------------


def test_every_sheet_prints_landscape_one_page_wide_with_its_heading_and_footer(delivered):
    from openpyxl import load_workbook

    for path in _books(delivered):
        wb = load_workbook(path)
        for ws in wb.worksheets:
            where = (path.name, ws.title)
            setup = ws.page_setup
            assert setup.orientation == "landscape", where
            assert ws.sheet_properties.pageSetUpPr.fitToPage, where
            assert (setup.fitToWidth or 1) == 1, where  # 1 is the file's default
            footer = ws.oddFooter
            assert "as of January 2026" in footer.left.text, where
            assert "&P" in footer.right.text and "&N" in footer.right.text, where
            # one page wide, as many tall as its rows need: the cover's text at a readable
            # size rather than shrunk onto one page (tests/unit/publish/test_print.py renders it)
            assert setup.fitToHeight == 0, where
            if ws.title == "About this list":
                assert ws.print_area, where
            else:  # the list runs on over pages, each with the heading row
                assert ws.print_title_rows == "$1:$1", where


def test_sheet_names_are_the_authorities_names(delivered):
    from openpyxl import load_workbook

    wb = load_workbook(delivered / "ranked_households.xlsx", read_only=True)
    assert wb.sheetnames == ["About this list", "Areas", "E06000903", "Easthaven", "Northmoor"]


def test_areas_numbers_are_numbers_and_star_only_where_suppressed(delivered):
    from openpyxl import load_workbook

    areas = area_counts(_world())
    expected = {
        (r["la_code"], r["ward_code"]): (r["households"], r["high_risk"])
        for r in areas.iter_rows(named=True)
    }
    for path in _books(delivered):
        ws = load_workbook(path, read_only=True)["Areas"]
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][:4] == ("Local authority", "Local authority code", "Ward", "Ward code")
        stars = 0
        for row in rows[1:]:
            households, high = expected[(row[1], row[3])]
            for cell, raw in zip(row[4:6], (households, high), strict=True):
                if rounded(raw) is None:
                    assert cell == SUPPRESSED
                    stars += 1
                else:
                    assert isinstance(cell, int) and cell == rounded(raw), (path, row)
        assert stars and len(rows) == areas.height + 1
        # by the count as shown, then by name: the order tells no more than the cells do
        keys = [(-(0.5 if r[5] == SUPPRESSED else r[5]), r[0], r[2]) for r in rows[1:]]
        assert keys == sorted(keys)
        names = {r[1]: r[0] for r in rows[1:]}
        assert names["E06000901"] == "Northmoor" and names["E06000903"] == "E06000903"


def test_reasons_wrap_the_heading_is_tall_enough_and_tiers_sort_in_risk_order(delivered):
    from openpyxl import load_workbook

    wb = load_workbook(delivered / "ranked_households.xlsx")
    ws = wb["Northmoor"]
    labels = [c.value for c in ws[1]]
    reason = labels.index("Reason 1") + 1
    tier = labels.index("Risk tier") + 1
    widths = [ws.column_dimensions[c.column_letter].width for c in ws[1]]
    assert ws.row_dimensions[1].height >= header_height(labels, widths) > 15
    assert all(c.alignment.wrap_text for c in ws[1])
    tiers = []
    for r in range(2, ws.max_row + 1):
        assert ws.cell(r, reason).alignment.wrap_text, r
        cell = ws.cell(r, tier)
        assert isinstance(cell.value, int)
        shown = cell.number_format.strip('"')
        assert shown in TIERS and TIERS.index(shown) + 1 == cell.value  # shows its words
        tiers.append((cell.value, shown))
    # sorting the column's values (what Excel and LibreOffice sort) gives the risk order
    assert [t for _, t in sorted(set(tiers))] == [t for t in TIERS if t in {s for _, s in tiers}]
    assert len({s for _, s in tiers}) >= 2


def test_a_header_that_needs_three_lines_gets_them():
    assert header_height(["Chance of a crisis in 12 months"], [14]) >= 3 * 15
    assert header_height(["Rank"], [7]) < 2 * 15


def test_sheet_names_are_valid_and_unique():
    used = {"about this list", "areas"}
    names = [
        sheet_name(n, used)
        for n in ["Areas", "A/B: C", "x" * 40, "x" * 40, "'Quoted'", "", "History"]
    ]
    assert names[0] == "Areas (2)" and names[1] == "A_B_ C" and len(names[2]) == 31
    assert names[3] != names[2] and len(names[3]) <= 31 and names[4] == "Quoted"
    assert names[5] == "Unknown area" and names[6] == "History (area)"


# ---- the report ----------------------------------------------------------------------------


def _report() -> str:
    return build_report(SUMMARY, _world(), None)


def _visible_text(html: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def _table(html: str, id_: str) -> list[list[str]]:
    m = re.search(rf'<table[^>]*id="{id_}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert m, id_
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S)
    ]


def test_the_data_quality_table_adds_up_exactly_for_every_source():
    rows = _table(_report(), "source-table")
    assert len(rows) == len(SUMMARY["sources"])
    for name, _months, received, accepted, quarantined, by_rule in rows:
        got = [int(x.replace(",", "")) for x in (received, accepted, quarantined)]
        source = SUMMARY["sources"][name.replace(" ", "_")]
        want = [source[k] for k in ("rows_received", "rows_accepted", "rows_quarantined")]
        assert got == want and got[0] == got[1] + got[2]  # exact: rows, not people
        rules = dict(re.findall(r"([a-z ]+): ([\d,]+)", by_rule))
        assert sum(int(v.replace(",", "")) for v in rules.values()) == got[2]
    months = re.findall(r"<td>2025-12</td>(.*?)</tr>", _report(), re.S)[0]
    assert [unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", months)] == [
        "12",
        "9",
        "3",
    ]


def test_a_source_that_does_not_add_up_is_named():
    assert 'id="unbalanced"' not in _report()
    summary = {**SUMMARY, "sources": {**SUMMARY["sources"]}}
    summary["sources"]["fire"] = {**SUMMARY["sources"]["fire"], "balanced": False}
    summary["sources"]["fire"]["files_not_read"] = 1
    html = build_report(summary, _world(), None)
    assert "fire: 1 file under its folder was not read" in _visible_text(html)


def test_names_are_beside_codes_and_unnamed_codes_are_counted():
    html = _report()
    las = _table(html, "ward-table")
    assert any(r[0] == "Northmoor (E06000901)" for r in las)
    assert any(r[0] == "E06000903" for r in las)  # no name: the code alone
    text = _visible_text(html)
    assert "2 of 3 local authorities named (1 shown as their code)" in text
    assert "pattern:area code" in text or "pattern:area_code" in text


def test_one_format_for_shares_people_timestamps_and_no_backticks():
    html = _report()
    text = _visible_text(html)
    assert "`" not in text
    assert "1 December 2026, 19:35" in text and "2026-12-01T" not in text
    assert "as of January 2026" in text
    # every measured share has one decimal; whole percentages only name cuts ("the top 5%")
    cuts = re.sub(r"\b(top|next|at) \d+%", "", text)
    shares = re.findall(r"-?\d[\d.,]*%", cuts)
    assert shares and all(re.fullmatch(r"\d{1,3}\.\d%", s) for s in shares), set(shares)
    assert "28.0%" in text and "0.280" not in text  # precision is a share
    assert "0.831" in text  # AUC is not
    assert "1.84 times" in text and "most agency contacts" in text  # lift, in a sentence


def test_the_top_of_the_list_sorts_tiers_in_risk_order():
    html = _report()
    m = re.search(r'<table id="top-table"([^>]*)>', html)
    assert m and f'data-tier-order="{"|".join(TIERS)}"' in m.group(1)
    js = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    assert "tierRank" in js and "dataset.tierOrder" in js


def test_the_ward_chart_shows_only_wards_that_may_be_shown():
    areas = pl.DataFrame(
        {
            "la_code": ["E06000901"] * 5,
            "la_name": ["Northmoor"] * 5,
            "ward_code": [f"E0590100{i}" for i in range(5)],
            "ward_name": ["A", "B", "C", "D", "E"],
            "households": [400] * 5,
            "high_risk": [3, 8, 30, 0, 7],
        }
    )
    items, left_out = ward_chart_items(areas)
    assert [label for label, _, _ in items] == ["C (Northmoor)", "B (Northmoor)"]
    assert [shown for _, _, shown in items] == ["30", "10"] and left_out == 2
    html = build_report(SUMMARY, _world(), None, areas=areas)
    chart = re.search(r'id="ward-chart".*?</(figure|p)>', html, re.S).group(0)
    assert ">*<" not in chart and "2 wards with 1 to 7 high-risk households are left out" in chart
    none = build_report(
        SUMMARY, _world(), None, areas=areas.with_columns(pl.lit(2).alias("high_risk"))
    )
    assert "none is charted" in re.search(r'id="ward-chart".*?</p>', none, re.S).group(0)


def test_words_for_people():
    assert when_words("2026-12-01T19:35:40+00:00") == "1 December 2026, 19:35"
    assert when_words("2026-07-01T19:35:00+00:00") == "1 July 2026, 20:35"  # UK summer time
    assert when_words("not a time") == "not a time"
    assert month_words("2026-01") == "January 2026" and month_words("2026-13") == "2026-13"
    assert percent(0.28) == "28.0%" and percent(1) == "100.0%" and percent(None) == ""


def test_the_areas_sheet_orders_by_the_count_as_shown(tmp_path):
    from openpyxl import load_workbook

    from hearth.publish.words import ListMeta
    from hearth.publish.workbook import write_workbook

    areas = pl.DataFrame(
        {
            "la_code": ["E06000901"] * 5,
            "la_name": ["Northmoor"] * 5,
            "ward_code": [f"E0590100{i}" for i in range(5)],
            "ward_name": ["Zed", "Alpha", "Beech", "Yew", "Oak"],
            "households": [40, 40, 40, 40, 40],
            "high_risk": [12, 8, 3, 6, 0],  # shown 10, 10, *, *, 0
        }
    )
    meta = ListMeta("2026-01", "m version 1", "", 200, 0, "the top 5%")
    write_workbook(tmp_path / "w.xlsx", _world().head(0), meta, areas)
    rows = list(load_workbook(tmp_path / "w.xlsx", read_only=True)["Areas"].values)[1:]
    assert [(r[2], r[5]) for r in rows] == [
        ("Alpha", 10),
        ("Zed", 10),
        ("Beech", SUPPRESSED),
        ("Yew", SUPPRESSED),
        ("Oak", 0),
    ]


# ---- the tiers' colours (issue 24) ---------------------------------------------------------


def test_each_tier_has_one_colour_in_the_report_the_chart_and_every_workbook(delivered):
    """Tier colours have one home (ranked.TIER_COLOURS): the report's cards and chips, its
    tier chart and every workbook's tier cells show a tier in the same colour, and "usual"
    in one grey (the report had two)."""
    from openpyxl import load_workbook

    from hearth.publish.ranked import TIER_COLOURS

    html = (delivered / "report.html").read_text(encoding="utf-8")
    style = html[html.index("<style>") : html.index("</style>")]
    for tier, (fill, ink) in TIER_COLOURS.items():
        slug = tier.replace(" ", "-")
        rules = re.findall(rf"\.(?:card\.)?tier[.-]{slug}\{{([^}}]*)\}}", style)
        colours = {c.lower() for r in rules for c in re.findall(r"#[0-9a-fA-F]{3,6}\b", r)}
        assert len(rules) == 2 and fill in colours and colours <= {fill, ink}, (tier, rules)
    # the tier chart's bars, in tier order
    fills = re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"/>', html)
    assert [f for f in fills if f in {c for c, _ in TIER_COLOURS.values()}][:4] == [
        TIER_COLOURS[t][0] for t in TIERS
    ]
    # every workbook's tier cells: the same fill for the same tier
    seen = set()
    for path in _books(delivered):
        wb = load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    fmt = cell.number_format.strip('"')
                    if fmt in TIER_COLOURS and cell.fill.fgColor.rgb:
                        got = "#" + str(cell.fill.fgColor.rgb)[-6:].lower()
                        assert got == TIER_COLOURS[fmt][0], (path.name, ws.title, fmt, got)
                        seen.add(fmt)
    assert seen == set(TIERS) - {"usual"}  # the top 20% is published: no "usual" row
    from hearth.publish.workbook import TIER_FORMATS

    assert {t: f["bg_color"] for t, f in TIER_FORMATS.items()} == {
        t: fill for t, (fill, _) in TIER_COLOURS.items()
    }
    greys = set(re.findall(r"usual[^{]*\{[^}]*?(#[0-9a-f]{6})", style))
    assert greys == {TIER_COLOURS["usual"][0]}
