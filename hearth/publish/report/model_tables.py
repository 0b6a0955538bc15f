"""The model section's tables read from the champion's model folder: fairness by group (with
95% intervals, the counts behind them and a verdict in words), the value of sharing, and the
model card's own sections (its tables too). Counts of households follow the small-number rule."""

from __future__ import annotations

import re
from html import escape

from hearth.modelling.evaluation.sharing import difference_words
from hearth.publish.report.cells import _agg, _num, _pct, _table
from hearth.suppression import SUPPRESSED


def _interval(r: dict[str, str], name: str) -> str:
    low, high = r.get(f"{name}_low"), r.get(f"{name}_high")
    shown = _pct(r.get(name))
    if not shown:
        return ""
    if _pct(low) and _pct(high):
        return f"{shown} ({_pct(low)} to {_pct(high)})"
    return shown


def _ratio(r: dict[str, str]) -> str:
    shown = _num(r.get("recall_ratio_to_best"))
    low, high = _num(r.get("ratio_low")), _num(r.get("ratio_high"))
    return f"{shown} ({low} to {high})" if shown and low and high else shown


def _count(value: str | None) -> str:
    """A fairness count: exact in the champion's table, already suppressed (`*` or rounded to
    5) in a delivered copy (hearth/publish/model_files.py); either way shown under the rule."""
    if value in (None, ""):
        return ""
    if value == SUPPRESSED:
        return f'<span class="agg">{SUPPRESSED}</span>'
    return _agg(int(float(value)))


def fairness_html(fairness: list[dict[str, str]]) -> str:
    if not fairness:
        return "<p>No fairness table was logged with this model.</p>"
    rows = []
    for r in fairness:
        judged = r.get("judged", "true").lower() == "true"
        verdict = r.get("verdict") or ("below 0.8" if r["flag"].lower() == "true" else "")
        rows.append(
            [
                escape(r.get("grouping_words") or r["grouping"].replace("_", " ")),
                escape(r["group"]),
                _count(r["households"]),
                _count(r["crises"]),
                _count(r.get("listed")),
                escape(_interval(r, "recall")) if judged else "",
                escape(_interval(r, "precision")) if judged else "",
                escape(_ratio(r)) if judged else "",
                escape(verdict),
            ]
        )
    return _table(
        [
            "Grouping",
            "Group",
            "Households",
            "Crises",
            "Listed",
            "Recall at 5% (95% interval)",
            "Precision at 5% (95% interval)",
            "Recall against best-served group (95% interval)",
            "Verdict",
        ],
        rows,
        "num-3 num-4 num-5 num-6 num-7 num-8",
        "fairness-table",
    )


def sharing_rows(sharing: list[dict[str, str]]) -> list[list[str]]:
    """The value-of-sharing table's rows: precision at 1% with its 95% interval, and the
    difference to the reference row in words that claim no more than its interval (a table
    logged before intervals were kept shows none)."""
    return [
        [
            escape(r["model"].replace("_", " ")),
            _interval(r, "precision_at_1pct"),
            escape(difference_words(_floats(r))),
            _pct(r["precision_at_5pct"]),
            _pct(r["recall_at_1pct"]),
            _pct(r["share_of_joined_p1"]),
            escape(f"the same scores as {r['same_scores_as']}" if r.get("same_scores_as") else ""),
        ]
        for r in sharing
    ]


def _floats(r: dict[str, str]) -> dict[str, float]:
    out = {}
    for c in ("difference_p1", "difference_p1_low", "difference_p1_high"):
        try:
            out[c] = float(r.get(c) or "nan")
        except ValueError:
            out[c] = float("nan")
    return out


SHARING_HEADS = [
    "Model trained on",
    "Precision at 1% (95% interval)",
    "Against the reference row, precision at 1%",
    "Precision at 5%",
    "Recall at 1%",
    "Share of the reference row's precision at 1%",
    "Note",
]


def md_text(text: str) -> str:
    """A line of the model card's Markdown as HTML text: `code` as code, and no backtick or
    bold marker shown literally."""
    html = escape(text)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
    return html.replace("`", "")


def card_section(text: str, title: str) -> str:
    """One '## title' section of the model card as HTML: paragraphs, bullets and tables."""
    m = re.search(rf"^## {re.escape(title)}\s*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        return ""
    out, table = [], []
    lines = [ln.strip() for ln in m.group(1).strip().splitlines()] + [""]
    bullets: list[str] = []
    for ln in lines:
        if ln.startswith("|"):
            cells = [c.strip() for c in ln.strip("|").split("|")]
            if not all(set(c) <= {"-"} for c in cells):
                table.append(cells)
            continue
        if table:
            out.append(_table(table[0], [[md_text(c) for c in r] for r in table[1:]], ""))
            table = []
        if ln.startswith("- "):
            bullets.append(ln[2:])
            continue
        if bullets:
            out.append("<ul>" + "".join(f"<li>{md_text(b)}</li>" for b in bullets) + "</ul>")
            bullets = []
        if ln:
            out.append(f"<p>{md_text(ln)}</p>")
    return "".join(out)


def card_paragraphs(text: str, title: str) -> str:
    """Only the paragraphs of a card section (its rule in words, not its tables)."""
    m = re.search(rf"^## {re.escape(title)}\s*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        return ""
    paras = [
        ln.strip()
        for ln in m.group(1).strip().splitlines()
        if ln.strip() and not ln.strip().startswith(("|", "- "))
    ]
    return "".join(f"<p>{md_text(p)}</p>" for p in paras)
