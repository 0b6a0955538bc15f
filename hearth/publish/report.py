"""report.html: one self-contained page for commissioners.

Everything is inside the file: CSS and a little vanilla JavaScript inline, charts as inline SVG
or PNG images as data: URIs, the top of the list as JSON in a script element. A Content
Security Policy forbids any network request, so the page works offline and cannot leak. Counts
in aggregate tables follow the NHS small-number rule (hearth/publish/suppression.py); the headline
totals are partnership-wide and match run_summary.json."""

from __future__ import annotations

import base64
import csv
import json
import re
from functools import cache
from html import escape
from pathlib import Path

import polars as pl

from hearth.publish.outputs import PUBLIC_COLUMNS
from hearth.publish.roles import role_view
from hearth.publish.suppression import SUPPRESSED, headline, suppress
from hearth.publish.words import COLUMN_LABELS, HOW_TO_READ, LIMITS, NOT_FOR, TIER_WORDS

TIERS = ("very high", "high", "raised", "usual")
TOP_ROWS = 500
EXPECTED_K = 1000
TOP_COLUMNS = tuple(PUBLIC_COLUMNS)  # the top of the list shows what the CSV shows
METRIC_WORDS = {
    "precision_at_1pct": "Precision in the top 1% (share of listed households that had a crisis)",
    "recall_at_1pct": "Recall in the top 1% (share of all crises that were on the list)",
    "precision_at_5pct": "Precision in the top 5%",
    "recall_at_5pct": "Recall in the top 5%",
    "precision_at_top1000": "Precision in the top 1,000",
    "recall_at_top1000": "Recall in the top 1,000",
    "auc": "AUC (chance a household with a crisis is ranked above one without)",
    "average_precision": "Average precision",
    "brier": "Brier score (lower is better)",
    "prevalence": "Households with a crisis in the validation year",
    "lift_over_baseline_at_1pct": "Lift over the contact-count baseline at 1%",
}
ASSETS = Path(__file__).with_name("report_assets")
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)


def write_report(
    path: Path,
    summary: dict,
    ranked: pl.DataFrame,
    model_dir: Path | None,
    plan: dict | None = None,
    areas: pl.DataFrame | None = None,
    top_rows: int = TOP_ROWS,
) -> None:
    html = build_report(summary, ranked, model_dir, plan, areas, top_rows)
    Path(path).write_text(html, encoding="utf-8")


def build_report(
    summary: dict,
    ranked: pl.DataFrame,
    model_dir: Path | None,
    plan: dict | None = None,
    areas: pl.DataFrame | None = None,
    top_rows: int = TOP_ROWS,
) -> str:
    from hearth.publish.ranked import area_counts

    if areas is None:
        areas = area_counts(ranked)
    model_dir = Path(model_dir) if model_dir else None
    model = summary.get("model") or {}
    sections = [
        _headline(summary, ranked),
        _how_to_read(),
        _areas(areas),
        _data_quality(summary),
        _model_card(model, model_dir),
    ]
    if plan:
        sections.append(_plans(plan))
    sections.append(_top_of_list(ranked, top_rows))
    version = model.get("version")
    top_json = _json_for_script(_top_data(ranked, top_rows))
    title = f"Hearth: households to reach first, as of {summary.get('as_of')}"
    nav = "".join(
        f'<a href="#{i}">{escape(t)}</a>'
        for i, t in (
            ("headline", "Headline"),
            ("areas", "Areas"),
            ("quality", "Data quality"),
            ("model", "Model card"),
            *((("plans", "Visit plans"),) if plan else ()),
            ("list", "Top of the list"),
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_asset("report.css")}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p class="sub">Model {escape(str(model.get("name", "")))} version {escape(str(version))} ·
made {escape(str(summary.get("generated_at", "")))} · one file, no network: it can be read offline
and e-mailed within the partnership.</p>
<nav>{nav}</nav>
</header>
<main>
{"".join(sections)}
</main>
<footer>Made by Hearth from pseudonymised extracts. Counts in tables: 1 to 7 shown as
{SUPPRESSED}, others rounded to the nearest 5 (NHS small-number rule). Exact figures for
intelligence officers are in run_summary.json.</footer>
<script type="application/json" id="top-data">{top_json}</script>
<script>{_asset("report.js")}</script>
</body>
</html>
"""


# ---- sections ----------------------------------------------------------------------------


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
    return f"""<section id="read"><h2>How to read this list</h2><ul>{items}</ul>
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


def _model_card(model: dict, model_dir: Path | None) -> str:
    if not model.get("version"):
        return '<section id="model"><h2>Model card</h2><p>No champion model yet.</p></section>'
    metrics = model.get("metrics") or {}
    met_rows = [
        [escape(words), f"{metrics[k]:.3f}"]
        for k, words in METRIC_WORDS.items()
        if k in metrics and metrics[k] == metrics[k]
    ]
    facts = [
        ["Model", escape(f"{model.get('name')} version {model.get('version')}")],
        ["Kind", escape(str(model.get("candidate") or "").replace("_", " "))],
        [
            "Trained on",
            escape(f"households as at {model.get('train_as_of')}, crises in the next 12 months"),
        ],
        [
            "Validated on",
            escape(f"households as at {model.get('valid_as_of')}, a later year it never saw"),
        ],
        ["Promotion", escape(str(model.get("promotion") or ""))],
    ]
    if model.get("refit_as_of"):
        facts.insert(
            4,
            [
                "Scores from",
                escape(
                    f"the same recipe fitted again on households as at {model['refit_as_of']} "
                    "with crises in the 12 months after: the newest year, and a longer history"
                ),
            ],
        )
    figures = []
    for name, caption in (
        ("calibration.png", "Calibration: predicted chance against the share that had a crisis."),
        ("precision_recall.png", "Precision and recall down the list."),
    ):
        img = _png(model_dir, name)
        if img:
            figures.append(f"<figure>{img}<figcaption>{escape(caption)}</figcaption></figure>")
    if not any("calibration" in f for f in figures):
        cal = _read_csv(model_dir, "calibration.csv")
        if cal:
            figures.insert(
                0, f"<figure>{_calibration_svg(cal)}<figcaption>Calibration.</figcaption></figure>"
            )
    fairness = _read_csv(model_dir, "fairness.csv")
    fair_html = (
        _table(
            [
                "Grouping",
                "Group",
                "Households",
                "Crises",
                "Precision at 5%",
                "Recall at 5%",
                "Recall against best-served group",
                "Flag",
            ],
            [
                [
                    escape(r["grouping"].replace("_", " ")),
                    escape(r["group"]),
                    _agg(int(r["households"])),
                    _agg(int(r["crises"])),
                    _pct(r["precision"]),
                    _pct(r["recall"]),
                    _num(r["recall_ratio_to_best"]),
                    "below 0.8" if r["flag"].lower() == "true" else "",
                ]
                for r in fairness
            ],
            "num-3 num-4 num-5 num-6 num-7",
            "fairness-table",
        )
        if fairness
        else "<p>No fairness table was logged with this model.</p>"
    )
    sharing = _read_csv(model_dir, "sharing.csv")
    if sharing:
        share_html = (
            _table(
                [
                    "Model trained on",
                    "Precision at 1%",
                    "Precision at 5%",
                    "Recall at 1%",
                    "Against all agencies joined",
                ],
                [
                    [
                        escape(r["model"].replace("_", " ")),
                        _pct(r["precision_at_1pct"]),
                        _pct(r["precision_at_5pct"]),
                        _pct(r["recall_at_1pct"]),
                        _pct(r["share_of_joined_p1"]),
                    ]
                    for r in sharing
                ],
                "num-2 num-3 num-4 num-5",
                "sharing-table",
            )
            + "<figure>"
            + _bars_svg(
                [
                    (
                        r["model"].replace("_", " "),
                        float(r["precision_at_1pct"]),
                        _pct(r["precision_at_1pct"]),
                    )
                    for r in sharing
                ],
                colours=["#1e6fb3"],
            )
            + "<figcaption>Precision in the top 1% by whose data the model used."
            + "</figcaption></figure>"
        )
    else:
        share_html = "<p>No value-of-sharing table was logged with this model.</p>"
    card = _card_sections(model_dir)
    return f"""<section id="model"><h2>Model card</h2>
{_table(["", ""], facts, "facts", "facts")}
<h3>How well it ranks (validation year)</h3>
{_table(["Measure", "Value"], met_rows, "num-2")}
<div class="figs">{"".join(figures)}</div>
<h3>Fairness: for whom the list works less well</h3>
<p>The list is cut once for everyone at 5% of households; within each group, the share of its
crises that were on the list (recall) and the share of its listed households that had one
(precision). A group whose recall is below 0.8 of the best-served group's is flagged.</p>
{fair_html}
<h3>The value of sharing</h3>
<p>The same kind of model trained on each agency's data alone, and on all agencies but one:
how much of the joined-up list's precision each agency's data brings.</p>
{share_html}
{card}
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


# ---- helpers -----------------------------------------------------------------------------


def _top_data(ranked: pl.DataFrame, top_rows: int) -> list[list]:
    view = role_view(ranked.sort("rank").head(top_rows), "commissioner")
    return [list(r) for r in view.select(TOP_COLUMNS).iter_rows()]


def _json_for_script(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _card(id_: str, label: str, shown: str, value: float, note: str = "", cls: str = "") -> str:
    note_html = f'<div class="note">{escape(note)}</div>' if note else ""
    return (
        f'<div class="card {cls}"><div class="label">{escape(label)}</div>'
        f'<div class="big" id="{id_}" data-value="{value}">{escape(shown)}</div>{note_html}</div>'
    )


def _agg(count) -> str:
    """An aggregate count cell under the small-number rule, marked for the tests."""
    return f'<span class="agg">{escape(suppress(None if count is None else int(count)))}</span>'


def _sort_value(count: int | None) -> float:
    """The shown value as a number for ordering and bar length ('*' counts as 0)."""
    shown = suppress(count)
    return 0.0 if shown in ("", SUPPRESSED) else float(shown.replace(",", ""))


def _pct(x) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return "" if v != v else f"{v:.1%}"


def _num(x) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return "" if v != v else f"{v:.2f}"


def _table(heads: list[str], rows: list[list[str]], num: str = "", id_: str = "") -> str:
    """Cells are HTML already (escaped by the caller); `num` names right-aligned columns."""
    cls = " ".join(num.split())
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    id_attr = f' id="{id_}"' if id_ else ""
    return (
        f'<div class="scroll"><table class="{cls}"{id_attr}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _png(model_dir: Path | None, name: str) -> str:
    if model_dir is None or not (model_dir / name).is_file():
        return ""
    data = base64.b64encode((model_dir / name).read_bytes()).decode("ascii")
    alt = name.removesuffix(".png").replace("_", " ")
    return f'<img alt="{escape(alt)} plot" src="data:image/png;base64,{data}">'


def _read_csv(model_dir: Path | None, name: str) -> list[dict[str, str]]:
    if model_dir is None or not (model_dir / name).is_file():
        return []
    with (model_dir / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _card_sections(model_dir: Path | None) -> str:
    """The model card's 'Intended use' and 'Limits' sections, as HTML."""
    if model_dir is None or not (model_dir / "model_card.md").is_file():
        return ""
    text = (model_dir / "model_card.md").read_text(encoding="utf-8")
    out = []
    for title in ("Intended use", "Limits"):
        m = re.search(rf"^## {re.escape(title)}\s*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
        if not m:
            continue
        lines = [ln.strip() for ln in m.group(1).strip().splitlines() if ln.strip()]
        bullets = [ln[2:] for ln in lines if ln.startswith("- ")]
        paras = [ln for ln in lines if not ln.startswith("- ")]
        body = "".join(f"<p>{escape(p)}</p>" for p in paras)
        if bullets:
            body += "<ul>" + "".join(f"<li>{escape(b)}</li>" for b in bullets) + "</ul>"
        out.append(f"<h3>{escape(title)}</h3>{body}")
    return "".join(out)


TIER_FILL = {"very high": "#9b1c1c", "high": "#f4a259", "raised": "#fde68a", "usual": "#d1d5db"}


def _bars_svg(items: list[tuple[str, float, str]], colours: list[str], width: int = 640) -> str:
    """Horizontal bars: (label, value, text shown at the bar's end)."""
    if not items:
        return ""
    label_w, bar_h, gap = 230, 18, 6
    top = max((v for _, v, _ in items), default=0) or 1
    h = len(items) * (bar_h + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {h}" '
        f'width="{width}" height="{h}" class="chart">'
    ]
    span = width - label_w - 70
    for i, (label, value, shown) in enumerate(items):
        y = gap + i * (bar_h + gap)
        w = max(0.0, value / top * span)
        colour = colours[i % len(colours)]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 13}">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _columns_svg(items: list[tuple[str, float]], width: int = 640, height: int = 120) -> str:
    """Vertical bars over months, with the first and last month labelled."""
    if not items:
        return ""
    top = max(v for _, v in items) or 1
    n = len(items)
    step = (width - 20) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height + 20}" '
        f'width="{width}" height="{height + 20}" class="chart">'
    ]
    for i, (label, v) in enumerate(items):
        bh = v / top * height
        x = 10 + i * step
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bh:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{bh:.1f}" fill="#1e6fb3"><title>{escape(label)}</title></rect>'
        )
    parts.append(
        f'<text x="10" y="{height + 15}">{escape(items[0][0])}</text>'
        f'<text x="{width - 10}" y="{height + 15}" text-anchor="end">{escape(items[-1][0])}</text>'
        "</svg>"
    )
    return "".join(parts)


def _calibration_svg(rows: list[dict[str, str]], size: int = 320) -> str:
    pts = [(float(r["mean_predicted"]), float(r["observed_rate"])) for r in rows]
    hi = max(max(p for p, _ in pts), max(o for _, o in pts)) or 1
    pad = 30

    def xy(p: float, o: float) -> str:
        return f"{pad + p / hi * (size - 2 * pad):.1f},{size - pad - o / hi * (size - 2 * pad):.1f}"

    line = " ".join(xy(p, o) for p, o in pts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}" class="chart">'
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#999" '
        'stroke-dasharray="4"/>'
        f'<polyline points="{line}" fill="none" stroke="#b3541e" stroke-width="2"/>'
        f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle">predicted chance</text>'
        "</svg>"
    )


@cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")
