"""report.html in the system Chromium (issue 27, point 9), on a small scored list: the top of the
list reads a page of households at a time with every word of "Why this lead" showing, the
controls work from the keyboard and show where the focus is, and every chart has a name."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.publish.report import build_report
from tests.unit.publish.test_presentation import SUMMARY
from tests.unit.publish.test_print import _scored

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
N = 600  # households scored: the top 500 are on the page, 20 pages of 25


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: `make test` installs it (.ci/ensure-chromium)")
    from playwright.sync_api import sync_playwright

    months = [f"2025-{m:02d}" for m in range(1, 13)]
    summary = {
        **SUMMARY,
        "households_scored": N,
        "extracts_by_month": [
            {
                "source": s,
                "extract_month": m,
                "rows_received": 100 + i,
                "rows_accepted": 100 + i,
                "rows_quarantined": 0,
            }
            for s in ("fire", "health")
            for i, m in enumerate(months)
        ],
    }
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(build_report(summary, _scored(N), None), encoding="utf-8")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 900})
            pg.on("pageerror", lambda e: problems.append(str(e)))
            pg.goto(path.resolve().as_uri(), wait_until="load")
            yield pg
        finally:
            browser.close()
    assert not problems, problems


def _ranks(page) -> list[int]:
    return [int(t) for t in page.locator("#top-table tbody td.g-rank").all_inner_texts()]


def test_the_list_reads_a_page_at_a_time(page):
    assert _ranks(page) == list(range(1, 26))
    assert page.text_content("#page-at") == "Page 1 of 20"
    assert page.text_content("#shown") == "showing 1\u201325 of 500"
    assert page.is_disabled("#page-prev") and page.is_disabled("#page-first")
    page.click("#page-next")
    assert _ranks(page) == list(range(26, 51)) and page.text_content("#page-at") == "Page 2 of 20"
    page.click("#page-last")
    assert _ranks(page) == list(range(476, 501)) and page.is_disabled("#page-next")
    page.click("#page-prev")
    assert _ranks(page)[0] == 451
    page.select_option("#page-size", "100")
    assert _ranks(page) == list(range(1, 101)) and page.text_content("#page-at") == "Page 1 of 5"
    # a search starts again at its first page, and counts what it found
    page.fill("#search", "Northmoor 003")
    found = _ranks(page)
    assert found and all((r - 1) % 9 == 3 for r in found)
    assert page.text_content("#shown").endswith(f"of {len(found)} found (of 500)")
    page.fill("#search", "")
    page.select_option("#page-size", "25")
    # sorting goes across pages: the lowest chance first is rank 500
    page.click("#top-table thead th.g-score button")
    page.click("#top-table thead th.g-score button")
    assert page.get_attribute("#top-table thead th.g-score", "aria-sort") == "ascending"
    assert _ranks(page)[:3] == [500, 499, 498]
    page.click("#top-table thead th.g-rank button")  # another column: its own order first
    assert _ranks(page) == list(range(1, 26))


def test_every_word_of_every_cell_shows_within_the_page_width(page):
    """No cell is cut off: the table is no wider than its section, no cell's text runs past
    it, and each row of the page is a few lines, not a screen."""
    box = page.evaluate(
        """() => {
        const wrap = document.querySelector('#list .table-wrap').getBoundingClientRect();
        const table = document.getElementById('top-table').getBoundingClientRect();
        const cut = [...document.querySelectorAll('#top-table td')]
            .filter(td => td.scrollWidth > td.clientWidth + 1).length;
        const rows = [...document.querySelectorAll('#top-table tbody tr')]
            .map(tr => tr.getBoundingClientRect().height);
        return {wrap: wrap.right, table: table.right, cut, tallest: Math.max(...rows)};
    }"""
    )
    assert box["table"] <= box["wrap"] + 1 and box["cut"] == 0, box
    assert box["tallest"] < 300, box  # at least three households a screen
    why = page.locator("#top-table tbody td.g-lead .why").first
    assert why.is_visible() and len(why.inner_text()) > 10


def test_the_controls_work_from_the_keyboard_and_show_their_focus(page):
    page.focus("#search")
    page.keyboard.press("Tab")  # the first sort button
    focused = page.evaluate(
        """() => {
        const el = document.activeElement, s = getComputedStyle(el);
        return {text: el.textContent, visible: el.matches(':focus-visible'),
                style: s.outlineStyle, width: parseFloat(s.outlineWidth)};
    }"""
    )
    assert focused["text"] == "Rank" and focused["visible"], focused
    assert focused["style"] != "none" and focused["width"] >= 2, focused
    page.keyboard.press("Enter")
    assert page.get_attribute("#top-table thead th.g-rank", "aria-sort") == "descending"
    page.keyboard.press("Enter")
    assert _ranks(page)[0] == 1
    page.focus("#page-next")
    page.keyboard.press("Enter")
    assert page.text_content("#page-at") == "Page 2 of 20"
    style = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert style != "none"
    page.keyboard.press("Shift+Tab")  # back to Previous, and it works with the space bar
    page.keyboard.press(" ")
    assert page.text_content("#page-at") == "Page 1 of 20"


def test_every_chart_has_a_name_that_says_what_it_shows(page):
    charts = page.locator("svg.chart, figure img")
    assert charts.count() >= 4  # the tiers, the wards, two sources' months
    for i in range(charts.count()):
        chart = charts.nth(i)
        if chart.evaluate("e => e.tagName") == "svg":
            assert chart.get_attribute("role") == "img"
            name = chart.get_attribute("aria-label") or ""
        else:
            name = chart.get_attribute("alt") or ""
        assert len(name) > 20, name
    # what assistive technology is told: an image with its name and figures
    tiers = page.get_by_role("img", name="Bar chart. Households in each risk tier", exact=False)
    assert tiers.count() == 1 and "very high" in tiers.get_attribute("aria-label")
    # (a source's months are inside a closed <details>: read their name from the page)
    months = page.locator('svg[aria-label*="Rows received per month from fire"]')
    assert "12 months from 2025-01 to 2025-12" in months.get_attribute("aria-label")
    page.click("#quality details summary")
    assert page.get_by_role("img", name="Column chart. Rows received", exact=False).count() == 1
