"""The model card section: the champion's facts and validation metrics, its plots (or a chart of
its calibration table), the fairness and value-of-sharing tables, and the model card's own
'Intended use' and 'Limits'. All read from the model folder copied from its MLflow run."""

from __future__ import annotations

import base64
import csv
from html import escape
from pathlib import Path

from hearth.publish.report.cells import _pct, _table
from hearth.publish.report.charts import _bars_svg, _calibration_svg
from hearth.publish.report.model_tables import (
    SHARING_HEADS,
    card_paragraphs,
    card_section,
    fairness_html,
    sharing_rows,
)
from hearth.publish.report.monitoring import monitoring_html
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
    if model.get("contact_count"):
        facts.insert(2, ["Ranking", escape(str(model["contact_count"]))])
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
        img = _png(model_dir, name, caption)
        if img:
            figures.append(f"<figure>{img}<figcaption>{escape(caption)}</figcaption></figure>")
    if model_dir is None or not (model_dir / "calibration.png").is_file():  # from its table
        cal = _read_csv(model_dir, "calibration.csv")
        if cal:
            figures.insert(
                0, f"<figure>{_calibration_svg(cal)}<figcaption>Calibration.</figcaption></figure>"
            )
    fair_html = fairness_html(_read_csv(model_dir, "fairness.csv"))
    sharing = _read_csv(model_dir, "sharing.csv")
    if sharing:
        share_html = (
            _table(SHARING_HEADS, sharing_rows(sharing), "num-4 num-5 num-6", "sharing-table")
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
                name="Precision in the top 1% by whose data the model used",
            )
            + "<figcaption>Precision in the top 1% by whose data the model used."
            + "</figcaption></figure>"
        )
    else:
        share_html = "<p>No value-of-sharing table was logged with this model.</p>"
    text = _card_text(model_dir)
    fair_rule = card_paragraphs(text, "Fairness") or (
        "<p>The list is cut once for everyone at 5% of households; within each group, the share "
        "of its crises that were on the list (recall) and the share of its listed households "
        "that had one (precision).</p>"
    )
    share_note = card_paragraphs(text, "The value of sharing") or (
        "<p>The same kind of model trained on each agency's data alone, and on all agencies "
        "but one: how much of the joined-up list's precision each agency's data brings.</p>"
    )
    measured = card_section(text, "Where quality was measured")
    measured_html = f"<h3>Where quality was measured</h3>{measured}" if measured else ""
    card = "".join(
        f"<h3>{escape(t)}</h3>{card_section(text, t)}"
        for t in ("Data freshness", "Safe updating", "Intended use", "Limits")
        if card_section(text, t)
    )
    return f"""<section id="model"><h2>Model card</h2>
{_table(["", ""], facts, "facts", "facts")}
<h3>How well it ranks (validation year)</h3>
{_table(["Measure", "Value"], met_rows, "num-2")}
{f"<p>{escape(LIFT_WORDS)}</p>" if "lift_over_baseline_at_1pct" in metrics else ""}
<div class="figs">{"".join(figures)}</div>
{measured_html}
{monitoring_html(model.get("monitoring"))}
<h3>Fairness: for whom the list works less well</h3>
{fair_rule}
{fair_html}
<h3>The value of sharing</h3>
{share_note}
{share_html}
{card}
</section>"""


def _png(model_dir: Path | None, name: str, alt: str) -> str:
    """A plot of the model's folder inline, with `alt`: what it shows, in words."""
    if model_dir is None or not (model_dir / name).is_file():
        return ""
    data = base64.b64encode((model_dir / name).read_bytes()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _read_csv(model_dir: Path | None, name: str) -> list[dict[str, str]]:
    if model_dir is None or not (model_dir / name).is_file():
        return []
    with (model_dir / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _card_text(model_dir: Path | None) -> str:
    if model_dir is None or not (model_dir / "model_card.md").is_file():
        return ""
    return (model_dir / "model_card.md").read_text(encoding="utf-8")
