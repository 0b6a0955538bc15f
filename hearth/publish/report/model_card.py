"""The model card section: the champion's facts and validation metrics, its plots (or a chart of
its calibration table), the fairness and value-of-sharing tables, and the model card's own
'Intended use' and 'Limits'. All read from the model folder copied from its MLflow run."""

from __future__ import annotations

import base64
import csv
import re
from html import escape
from pathlib import Path

from hearth.publish.report.cells import _agg, _num, _pct, _table
from hearth.publish.report.charts import _bars_svg, _calibration_svg
from hearth.publish.words import percent

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
# Measures that are shares of households or crises, shown as percentages like every share on
# the page; the rest (AUC, average precision, Brier) are scores, shown to three places.
SHARE_METRICS = ("precision_", "recall_", "prevalence")
LIFT_WORDS = (
    "Lift over the contact-count baseline: the model's precision in the top 1% divided by that "
    "of the simplest list, the households with the most agency contacts in the last 12 months; 2.0 "
    "times means the model's top 1% holds twice as many households heading for a crisis."
)


def metric_text(key: str, value: float) -> str:
    if key.startswith(SHARE_METRICS):
        return percent(value)
    if key.startswith("lift_"):
        return f"{value:.2f} times"
    return f"{value:.3f}"


def _model_card(model: dict, model_dir: Path | None) -> str:
    if not model.get("version"):
        return '<section id="model"><h2>Model card</h2><p>No champion model yet.</p></section>'
    metrics = model.get("metrics") or {}
    met_rows = [
        [escape(words), metric_text(k, metrics[k])]
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
{f"<p>{escape(LIFT_WORDS)}</p>" if "lift_over_baseline_at_1pct" in metrics else ""}
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
        body = "".join(f"<p>{_md_text(p)}</p>" for p in paras)
        if bullets:
            body += "<ul>" + "".join(f"<li>{_md_text(b)}</li>" for b in bullets) + "</ul>"
        out.append(f"<h3>{escape(title)}</h3>{body}")
    return "".join(out)


def _md_text(text: str) -> str:
    """A line of the model card's Markdown as HTML text: `code` as code, and no backtick or
    bold marker shown literally."""
    html = escape(text)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
    return html.replace("`", "")
