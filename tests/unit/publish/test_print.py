"""The workbook as it prints (issue 27, point 9): rendered by LibreOffice headless to PDF, no two
rows' texts overlap on any page, every household prints once under its repeated heading, the
cover's numbers are numbers; read back with openpyxl, every row is as tall as its wrapped text.
And the list's CSV carries the areas every other list file carries."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from hearth.modelling.scoring.ranking import ROLE_REASONS
from hearth.publish.deliver import write_deliverables
from hearth.publish.outputs import write_ranked
from hearth.publish.ranked import COLUMN_LABELS, TIERS, risk_tiers
from hearth.publish.roles import REASONS, role_view, visible_columns
from hearth.publish.words import ListMeta
from hearth.publish.workbook import (
    LINE_HEIGHT,
    column_widths,
    row_height,
    wrapped_lines,
    write_workbook,
)
from hearth.suppression import SUPPRESSED
from tests.unit.publish.test_deliver_units import _ranked

N = 120  # households scored; the top 20% (24) are published, over two authorities
WORDS = [
    "emergency",
    "admission",
    "for",
    "a",
    "fall",
    "12",
    "months",
    "ago",
    "smoker",
    "and",
    "no",
    "smoke",
    "alarm",
    "fitted",
    "domestic",
    "abuse",
    "incidents",
    "in",
    "2",
    "years",
    "WIDE",
    "MMMM",
    "WORDS",
    "child",
    "protection",
    "plan",
]


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _scored(n: int = N, seed: int = 5) -> pl.DataFrame:
    """A small scored list with reasons, leads and whys of every length (one word to several
    lines, capitals, a word longer than its column, a line break) in the commissioners' own
    words, in two authorities."""
    rng = random.Random(seed)
    ranked = _ranked([["residents", "residents", "residents"]] * n)
    words = []
    for i in range(n):
        reasons = [_text(rng, 1, 30), _text(rng, 2, 25), _text(rng, 1, 12)]
        if i % 5 == 0:
            reasons[1] = "x" * 70 + " then\nits own line"
        entry = {
            "reasons": [[t, "residents"] for t in reasons],
            "lead": _text(rng, 1, 4),
            "lead_why": _text(rng, 2, 25),
        }
        words.append(json.dumps({"commissioner": entry}))
    return ranked.with_columns(
        pl.Series("la_code", ["E06000901" if i % 2 else "E06000902" for i in range(n)]),
        pl.Series("la_name", ["Northmoor" if i % 2 else "Easthaven" for i in range(n)]),
        pl.Series("ward_name", [f"Ward {i % 7}" for i in range(n)]),
        pl.Series("lsoa_name", [f"Northmoor {i % 9:03d}" for i in range(n)]),
        pl.Series("risk_tier", risk_tiers(list(range(1, n + 1)), n)),
        pl.Series("score", [0.6 * (1 - i / n) for i in range(n)]),
        pl.Series(ROLE_REASONS, words),
    )


SUMMARY = {
    "as_of": "2026-01",
    "generated_at": "2026-12-01T19:35:40+00:00",
    "households_scored": 12_345,
    "risk_tiers": {"very high": 5, "high": 494, "raised": 1850, "usual": 9996},
    "model": {"name": "household_crisis_risk", "version": "3", "metrics": {}},
    "sources": {},
}


def _render(xlsx: Path, out: Path) -> Path:
    """The workbook as LibreOffice prints it, with a profile of its own (runs in parallel do
    not share one)."""
    soffice = shutil.which("soffice")
    if soffice is None or shutil.which("pdftotext") is None:
        pytest.skip("LibreOffice (soffice) and poppler are needed: .ci/run installs them")
    profile = (out / "lo-profile").resolve().as_uri()
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf"]
        + ["--outdir", str(out), str(xlsx)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pdf = out / xlsx.with_suffix(".pdf").name
    assert pdf.is_file()
    return pdf


def _pages(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Each page's words with their boxes (x0, y0, x1, y1, text), from pdftotext -bbox."""
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    word = re.compile(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
    )
    return [
        [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in word.findall(page)]
        for page in re.findall(r"<page[^>]*>(.*?)</page>", out, re.S)
    ]


def _overprinted(words: list[tuple[float, float, float, float, str]]) -> list[tuple]:
    """Pairs of words whose boxes cross: text printed over text."""
    found = []
    words = sorted(words, key=lambda w: w[1])
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            if b[1] >= a[3]:
                break
            dy = min(a[3], b[3]) - max(a[1], b[1])
            dx = min(a[2], b[2]) - max(a[0], b[0])
            if dy > 0.3 * min(a[3] - a[1], b[3] - b[1]) and dx > 0.5:
                found.append((a[4], b[4]))
    return found


def _page_text(pdf: Path, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> tuple[Path, Path, pl.DataFrame]:
    folder = tmp_path_factory.mktemp("printed")
    scored = _scored()
    write_deliverables(folder, scored, SUMMARY, top=0.2, roles=("commissioner",))
    xlsx = folder / "ranked_households.xlsx"
    return xlsx, _render(xlsx, folder), scored


def test_no_two_rows_print_over_each_other_on_any_page(printed):
    _, pdf, _ = printed
    pages = _pages(pdf)
    assert pages and all(pages)
    for i, words in enumerate(pages, start=1):
        over = _overprinted(words)
        assert not over, f"page {i}: {len(over)} words printed over others, e.g. {over[:3]}"


def test_every_household_prints_once_under_the_repeated_heading(printed):
    xlsx, pdf, scored = printed
    from openpyxl import load_workbook

    wb = load_workbook(xlsx, read_only=True)
    list_sheets = [ws for ws in wb.worksheets if ws.title not in ("About this list", "Areas")]
    assert [ws.title for ws in list_sheets] == ["Easthaven", "Northmoor"]
    published = 24
    n_pages = len(_pages(pdf))
    seen: list[int] = []
    list_pages = 0
    for page in range(1, n_pages + 1):
        text = _page_text(pdf, page)
        # every page's footer counts the pages of the whole print
        assert re.search(rf"Page {page} of {n_pages}\b", text), page
        if "Household (pseudonym)" in text:  # a page of a list sheet: heading first
            list_pages += 1
            assert text.lstrip().startswith("Rank"), page
            seen += [int(m) for m in re.findall(r"^\s*(\d+)\s+0{20}", text, re.M)]
    assert sorted(seen) == list(range(1, published + 1))
    # 24 rows of up to eight wrapped lines each fit on a few pages, not one page per row: the
    # cover (2-3 pages at its readable size), the Areas sheet, then the two authorities
    assert 2 <= list_pages <= 6
    assert 4 <= n_pages <= 10, n_pages


def test_every_row_is_as_tall_as_its_wrapped_text(printed):
    xlsx, _, scored = printed
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    ws = wb["Northmoor"]
    labels = [c.value for c in ws[1]]
    cols = [next(k for k, v in COLUMN_LABELS.items() if v == label) for label in labels]
    widths = column_widths(role_view(scored, "commissioner").select(cols))
    prose = [i for i, c in enumerate(cols) if c in (*REASONS, "lead_agency", "lead_why")]
    tall = 0
    for r in range(2, ws.max_row + 1):
        cells = [ws.cell(r, i + 1) for i in range(len(cols))]
        need = max(wrapped_lines(cells[i].value or "", widths[i]) for i in prose)
        height = ws.row_dimensions[r].height
        assert height is not None and height >= LINE_HEIGHT * need, (r, height, need)
        assert all(cells[i].alignment.wrap_text for i in prose if cells[i].value)
        tall += need > 1
    assert tall >= 5  # the list has rows of several lines


def test_the_cover_stores_its_numbers_as_numbers(printed):
    xlsx, _, _ = printed
    from openpyxl import load_workbook

    ws = load_workbook(xlsx)["About this list"]
    got = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(1, ws.max_row + 1)}
    assert got["Households scored"].value == 12_345
    assert got["Households scored"].number_format == "#,##0"
    for tier in TIERS:
        cell = got[f"Households in the {tier} tier"]
        want = SUMMARY["risk_tiers"][tier]
        assert cell.value == (SUPPRESSED if want <= 7 else want), tier  # 1-7 is never shown
    # and every row of wrapped text (not the title and headings) is tall enough for it
    rows = 0
    for r in range(1, ws.max_row + 1):
        if isinstance(ws.cell(r, 2).value, str):
            texts = [(ws.cell(r, c).value or "", (34, 100)[c - 1]) for c in (1, 2)]
            assert ws.row_dimensions[r].height >= row_height(texts) - 0.01, r
            rows += 1
    assert rows > 10


def test_a_text_column_no_one_planned_for_is_wrapped_and_fitted(tmp_path):
    """A column a later change adds (an 'also' agency, say) is wrapped and its rows fitted
    without a width or a rule of its own."""
    from openpyxl import load_workbook

    scored = _scored(20).with_columns(
        pl.Series("also", ["fire safety visit - a smoker and no smoke alarm " * 3] * 20)
    )
    meta = ListMeta("2026-01", "m version 1", "", 20, 20, "the top 20 households")
    write_workbook(tmp_path / "w.xlsx", scored.drop("la_name"), meta)
    ws = load_workbook(tmp_path / "w.xlsx")["E06000901"]
    at = [c.value for c in ws[1]].index("also") + 1
    width = ws.column_dimensions[ws.cell(1, at).column_letter].width
    assert 10 <= width <= 49 and ws.cell(2, at).alignment.wrap_text
    assert ws.row_dimensions[2].height >= LINE_HEIGHT * wrapped_lines(ws.cell(2, at).value, 48)


def test_wrapped_lines_counts_like_a_spreadsheet():
    assert wrapped_lines("", 10) == 1 and wrapped_lines("a short one", 30) == 1
    assert wrapped_lines("one\ntwo\nthree", 30) == 3
    assert wrapped_lines("x" * 100, 21) >= 5  # a word longer than the column breaks
    assert wrapped_lines("word " * 40, 20) >= 10
    # capitals are wider than digits: the same count of them takes more lines
    assert wrapped_lines("MMMM " * 20, 20) > wrapped_lines("aaaa " * 20, 20)


def test_the_csv_carries_the_areas_every_list_file_carries(tmp_path):
    scored = _scored(30)
    write_ranked(tmp_path, scored)
    header = (tmp_path / "ranked_households.csv").read_text().splitlines()[0].split(",")
    assert header == visible_columns("commissioner")
    assert {"lsoa_code", "lsoa_name"} <= set(header)
    csv = pl.read_csv(tmp_path / "ranked_households.csv")
    assert csv["lsoa_code"].to_list() == scored["lsoa_code"].to_list()


def test_the_csv_written_a_chunk_at_a_time_is_the_view_written_whole(tmp_path, monkeypatch):
    import hearth.publish.outputs as outputs
    from hearth.publish.ranked import PUBLIC_COLUMNS

    scored = _scored(30)
    view = role_view(scored, "commissioner")
    whole = view.select([c for c in PUBLIC_COLUMNS if c in view.columns]).with_columns(
        pl.col("score").round(6)
    )
    monkeypatch.setattr(outputs, "VIEW_ROWS", 7)  # five chunks, the last of two households
    write_ranked(tmp_path, scored)
    assert (tmp_path / "ranked_households.csv").read_bytes() == whole.write_csv().encode()
