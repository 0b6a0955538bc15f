"""Make the README's pictures of the report: `docs/images/report.png` (the top of the page, to
the end of the headline) and `docs/images/report-areas.png` (the area picture, with the ward
chart), from a published report.html, in the system Chromium (the one the browser test uses,
`.ci/ensure-chromium`).

    .venv/bin/hearth demo --households 20000
    .venv/bin/python docs/images/report_screenshot.py .hearth/outputs/latest/report.html

The page makes no network request (its Content Security Policy forbids them), so the picture
is of exactly what a commissioner opens."""

from __future__ import annotations

import argparse
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
OUT = Path(__file__).with_name("report.png")


def screenshot(report: Path, out: Path = OUT, width: int = 1000) -> list[Path]:
    from playwright.sync_api import sync_playwright

    areas = out.with_name(out.stem + "-areas.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--no-first-run"]
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(report.resolve().as_uri(), wait_until="load")
            box = page.locator("#headline").bounding_box()
            bottom = int(box["y"] + box["height"] + 16) if box else 900
            page.screenshot(
                path=str(out),
                full_page=True,
                clip={"x": 0, "y": 0, "width": width, "height": bottom},
            )
            page.locator("#areas").screenshot(path=str(areas))
        finally:
            browser.close()
    return [out, areas]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path, help="a published report.html")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    for path in screenshot(args.report, args.out):
        print(path)
