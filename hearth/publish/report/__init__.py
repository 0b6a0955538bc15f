"""report.html: one self-contained page for commissioners.

Everything is inside the file: CSS and a little vanilla JavaScript inline, charts as inline SVG
or PNG images as data: URIs, the top of the list as JSON in a script element. A Content
Security Policy forbids any network request, so the page works offline and cannot leak. Counts
in aggregate tables follow the NHS small-number rule (hearth/suppression.py); the headline
totals are partnership-wide and match run_summary.json.

- `page`: the page itself (head, navigation, footer, the top of the list as data, the assets);
- `sections`: the headline, how to read it, the areas, data quality;
- `top`: the top of the list, a page of households at a time in a few columns that fit the
  page (assets/report.js draws the rows, pages and sorts them);
- `model_card`: the champion's model card section, from its folder (`model_tables`: fairness
  with intervals and verdicts, the value of sharing, the card's own sections) and this month's
  monitoring report (`monitoring`: overlap with last month's list and why, PSI);
- `cells`: tables, cards and the small-number cells they hold;
- `charts`: inline SVG charts, each an image named for assistive technology."""

from hearth.publish.report.page import TOP_COLUMNS, TOP_ROWS, build_report, write_report

__all__ = ["TOP_COLUMNS", "TOP_ROWS", "build_report", "write_report"]
