"""The model card and plots that travel with every model version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hearth.modelling.evaluation.fairness import (
    GROUPING_WORDS,
    QUINTILE_NOTE,
    RULE,
    fairness_metrics,
    wilson,
)
from hearth.modelling.evaluation.linkage_lines import linkage_lines
from hearth.modelling.evaluation.list_effect import card_lines
from hearth.modelling.evaluation.metrics import baseline_margin, k_for
from hearth.modelling.evaluation.sharing import (
    difference_words,
    reference_words,
    sharing_metrics,
    sharing_note,
)
from hearth.modelling.evaluation.updating_lines import safe_updating_lines
from hearth.suppression import suppress


def _plots(result, valid_y: np.ndarray, out: Path) -> dict[str, Path]:
    import matplotlib  # matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # matplotlib
    from sklearn.metrics import precision_recall_curve  # sklearn

    paths = {}
    tables = [
        (t, colour)
        for t, colour in (
            (result.publishing_calibration, "#b3541e"),
            (result.calibration, "#1e6fb3"),
        )
        if t.height
    ]
    if tables:  # none when nothing was calibrated (no crisis to judge by)
        fig, ax = plt.subplots(figsize=(5.5, 5.0))
        hi = max(max(t["mean_predicted"].max(), t["observed_rate"].max()) for t, _ in tables)
        ax.plot([0, hi], [0, hi], "--", color="#999", lw=1, label="perfectly calibrated")
        for table, colour in tables:
            ax.plot(
                table["mean_predicted"],
                table["observed_rate"],
                "o-",
                color=colour,
                label=table["model"][0],
            )
            for r in table.head(3).iter_rows(named=True):  # the top of the list, named
                ax.annotate(
                    r["band"],
                    (r["mean_predicted"], r["observed_rate"]),
                    fontsize=7,
                    color=colour,
                    xytext=(4, -10),
                    textcoords="offset points",
                )
        ax.set_xlabel("mean predicted chance of a crisis (by band of the list)")
        ax.set_ylabel("share that had a crisis")
        ax.set_title("Calibration down the list: top 1%, 1-5%, 5-10%, then tenths", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        paths["calibration_plot"] = out / "calibration.png"
        fig.savefig(paths["calibration_plot"], dpi=110)
        plt.close(fig)
    precision, recall, _ = precision_recall_curve(valid_y, result.valid_scores)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(recall, precision, color="#1e6fb3")
    ax.set_xlabel("recall (share of crises found)")
    ax.set_ylabel("precision (share of listed households with a crisis)")
    ax.set_title("Precision and recall")
    fig.tight_layout()
    paths["precision_recall_plot"] = out / "precision_recall.png"
    fig.savefig(paths["precision_recall_plot"], dpi=110)
    plt.close(fig)
    return paths


SIZES = (20_000, 40_000, 100_000, 1_000_000)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{x:.1%}"


def _metric_rows(m: dict[str, float]) -> list[str]:
    rows = []
    for k, v in m.items():
        if k.startswith("baseline_check.") or v != v:
            continue
        shown = f"{v:.3f}" if k in ("auc", "brier", "lift_over_baseline_at_1pct") else _pct(v)
        rows.append(f"| {k.replace('_', ' ').replace('pct', '%')} | {shown} |")
    return rows


def measured_size(result) -> list[str]:
    """For what size of area quality was measured, and what a smaller one should expect: the
    precision at 1% rests on the top 1% of the validation households, so its 95% interval
    widens as the area shrinks (about as one over the square root of the list's length)."""
    m = result.metrics
    n, p1 = result.valid_rows, float(m.get("precision_at_1pct", float("nan")))
    k = k_for(0.01, n) if n else 0
    crises = round(float(m.get("prevalence", float("nan"))) * n) if n else 0
    lines = [
        "## Where quality was measured",
        "",
        f"On one area of {n:,} households (the validation year, {crises:,} households with a "
        f"crisis). Its top 1% is {k:,} households, and the precision there, {_pct(p1)}, is "
        "known only to within its 95% interval:",
        "",
        "| households in the area | top 1% | precision at 1%, 95% interval |",
        "|---|---|---|",
    ]
    if p1 == p1:
        for size in sorted({*SIZES, n}):
            kk = k_for(0.01, size)
            low, high = wilson(round(p1 * kk), kk)
            here = " (this area)" if size == n else ""
            lines.append(f"| {size:,}{here} | {kk:,} | {_pct(low)} to {_pct(high)} |")
    lines += [
        "",
        "What a small council should expect: the same recipe on fewer households has fewer "
        "crises to learn from and a shorter list to judge it by. Measured on synthetic "
        "worlds (docs/performance.md), the list's precision at 1% as a share of the best "
        "possible falls as the area shrinks (40,000 households against a million), and on "
        "an area of 20,000 to 40,000 households one year's precision at 1% moves by several "
        "points from chance alone (the table above). Judge a small area's list over more than "
        "one month, and by its recall at 5% as well as its precision at 1%.",
    ]
    if any(key.startswith("baseline_check.") for key in m):
        lines += ["", baseline_margin(m)[1]]
    return lines


def fairness_lines(fair: pl.DataFrame) -> list[str]:
    lines = ["## Fairness", "", RULE, "", QUINTILE_NOTE, ""]
    if not fair.height:
        return [*lines, "No fairness table was computed."]
    lines += [
        "| grouping | group | crises | recall at 5% (95% interval) | against best-served (95% "
        "interval) | "
        "verdict |",
        "|---|---|---|---|---|---|",
    ]
    for r in fair.iter_rows(named=True):
        grouping = GROUPING_WORDS.get(r["grouping"], r["grouping"].replace("_", " "))
        if r["judged"]:
            recall = f"{_pct(r['recall'])} ({_pct(r['recall_low'])} to {_pct(r['recall_high'])})"
            ratio = f"{r['recall_ratio_to_best']:.2f}"
            if r["ratio_high"] == r["ratio_high"]:
                ratio += f" ({r['ratio_low']:.2f} to {r['ratio_high']:.2f})"
        else:
            recall, ratio = "", ""
        lines.append(
            f"| {grouping} | {r['group']} | {suppress(int(r['crises']))} | {recall} | {ratio} | "
            f"{r['verdict']} |"
        )
    flagged = fair.filter(pl.col("flag"))
    few = int((~fair["judged"]).sum())
    lines += [
        "",
        f"{flagged.height} of {int(fair['judged'].sum())} groups judged are flagged; "
        f"{few} {'is' if few == 1 else 'are'} too few to judge.",
    ]
    return lines


def sharing_lines(share: pl.DataFrame) -> list[str]:
    if not share.height:
        return []
    lines = ["## The value of sharing", "", sharing_note(share), ""]
    ref = reference_words(share["model"].to_list())
    lines += [
        "| model trained on | precision at 1% | 95% interval | against "
        f"{ref}, precision at 1% | precision at 5% | recall at 1% | note |"
    ]
    lines += ["|---|---|---|---|---|---|---|"]
    for r in share.iter_rows(named=True):
        note = f"the same scores as {r['same_scores_as']}" if r["same_scores_as"] else ""
        low, high = r.get("precision_at_1pct_low"), r.get("precision_at_1pct_high")
        interval = f"{_pct(low)} to {_pct(high)}" if low is not None and low == low else ""
        against = difference_words(r)
        lines.append(
            f"| {r['model']} | {_pct(r['precision_at_1pct'])} | {interval} | {against} "
            f"| {_pct(r['precision_at_5pct'])} | {_pct(r['recall_at_1pct'])} | {note} |"
        )
    return lines


CALIBRATION_WORDS = {
    "crossfit": "every training household's out-of-fold score (five folds of households, each "
    "scored by a model fitted on the other four) maps the model's log-odds to the crisis rate by "
    "an increasing map (isotonic regression, its steps joined by straight lines so that it "
    "makes no ties); the model itself is fitted on every household",
    "isotonic": "an increasing map (isotonic regression, steps joined by straight lines) fitted "
    "on a held-back fifth of the training households, which the model did not see",
    "sigmoid": "Platt scaling on a held-back fifth of the training households",
    "contact counts": "the crisis rate seen in training at each number of agency contacts",
}


def calibration_lines(result) -> list[str]:
    """The calibration by band of the list, of the model that publishes and of the judged one."""
    method = result.calibration_method or result.params.calibration
    lines = [
        "## Calibration",
        "",
        f"How the probabilities are calibrated: {CALIBRATION_WORDS.get(method, method)}.",
        "",
    ]
    tables = [t for t in (result.publishing_calibration, result.calibration) if t.height]
    if not tables:
        return [*lines, "No calibration table was computed."]
    if result.publishing_calibration.height:
        checked_on = (
            "its two years' rows (a household in both years twice)"
            if getattr(result, "refit_years", 1) == 2
            else "its own year's households"
        )
        lines += [
            "The model that publishes (refitted at "
            f"{result.refit_as_of}) is checked on {checked_on} with probabilities "
            "from a map it did not fit (each fold's scores mapped by the other folds' map): the "
            "crises of the year it scores are not known yet. The judged model is checked on the "
            "later year it never saw.",
            "",
        ]
    lines += [
        "| model | band of the list | households | crises | mean predicted | share with a crisis "
        "| predicted / observed |",
        "|---|---|---|---|---|---|---|",
    ]
    for table in tables:
        for r in table.iter_rows(named=True):
            ratio = r["predicted_to_observed"]
            lines.append(
                f"| {r['model']} | {r['band']} | {r['households']:,} | "
                f"{suppress(int(r['crises']))} | {_pct(r['mean_predicted'])} | "
                f"{_pct(r['observed_rate'])} | "
                f"{'n/a' if ratio != ratio else f'{ratio:.2f}'} |"
            )
    return lines


def refit_line(result) -> str:
    """The card's words on the model that scores: the refit, on one year of outcomes or two."""
    metrics = (
        "The metrics below are those of the model trained on the earlier year, judged on the "
        "later one: the honest estimate for the recipe"
    )
    if getattr(result, "refit_years", 1) == 2:
        return (
            f"- Scoring model: the same recipe fitted again on two years of outcomes: households "
            f"as at {result.refit_as_of} with crises in the 12 months after and, stacked under "
            f"them, households as at {result.train_as_of} with crises in the 12 months after "
            f"theirs ({result.refit_rows:,} rows: a household in both years twice), with "
            f"{result.recency_cap} months of history (the model above had "
            f"{result.eval_recency_cap}). {metrics}, which learnt from one year."
        )
    return (
        f"- Scoring model: the same recipe fitted again on households as at "
        f"{result.refit_as_of} ({result.refit_rows:,} households) with crises in the 12 "
        f"months after, so that it uses the newest year and {result.recency_cap} months of "
        f"history (the model above had {result.eval_recency_cap}). {metrics}."
    )


def model_card(result) -> str:
    judged_features = len(result.eval_feature_names or result.feature_names)
    method = result.calibration_method or result.params.calibration
    lines = [
        "# Model card: household crisis risk",
        "",
    ]
    if result.contact_count_fallback:
        lines += [f"**The contact-count ranking.** {result.contact_count_fallback}", ""]
    lines += [
        f"- Model: {result.kind.replace('_', ' ')}, calibrated ({method}).",
        f"- Trained on households as at {result.train_as_of} ({result.train_rows:,} households), "
        f"with crises in the 12 months after.",
        f"- Validated on households as at {result.valid_as_of} ({result.valid_rows:,} "
        "households), with crises in the 12 months after: a later year the model never saw.",
        f"- Features: {judged_features} in the model judged below"
        + (
            f", {len(result.feature_names)} in the refit that scores (see features.txt and the "
            "feature catalogue)."
            if result.refit_as_of
            else " (see features.txt and the feature catalogue)."
        ),
    ]
    lines.append(
        "- Each fit uses every household with a crisis and at most about "
        f"{result.params.max_negatives:,} without one (case-control sampling: fewer rows that "
        "say little more); the probabilities are calibrated on households that are not "
        f"sampled: {CALIBRATION_WORDS.get(method, method)}."
    )
    if result.refit_as_of:
        lines += [refit_line(result)]
        if result.refit_years_note:
            lines += [f"- {result.refit_years_note}"]
    lines += ["", "## Validation metrics", "", "| metric | value |", "|---|---|"]
    lines += _metric_rows(result.metrics)
    lines += [
        "",
        "## Candidates",
        "",
        "| candidate | precision at 1% | AUC | average precision |",
        "|---|---|---|---|",
    ]
    for kind, cm in result.candidate_metrics.items():
        p1, auc, ap = cm["precision_at_1pct"], cm["auc"], cm["average_precision"]
        lines.append(f"| {kind.replace('_', ' ')} | {_pct(p1)} | {auc:.3f} | {_pct(ap)} |")
    lines += ["", *linkage_lines(getattr(result, "linkage", None))]
    lines += ["", "## Data freshness", ""]
    lines += [f"- {s}" for s in result.data_freshness] or [
        "- Every source had sent the month the run needed."
    ]
    if result.choice_sentence:
        lines += ["", result.choice_sentence]
    lines += ["", *safe_updating_lines(result)]
    lines += ["", *card_lines(getattr(result, "list_working", None))]
    lines += ["", *calibration_lines(result)]
    lines += ["", *measured_size(result), "", *fairness_lines(result.fairness)]
    sharing = sharing_lines(result.sharing)
    if sharing:
        lines += ["", *sharing]
    lines += [
        "",
        "## Intended use",
        "",
        "To help partner agencies decide which households to offer proactive, voluntary support "
        "first, within their visiting capacity. A high score is a prompt for a conversation, "
        "not a finding about anyone.",
        "",
        "## Limits",
        "",
        "- It sees only what the agencies recorded: households that have not come to notice "
        "score low whatever their need.",
        "- It must not be used to decide eligibility for services, for enforcement, or for any "
        "decision about a person without a practitioner's judgement.",
        "- Scores are calibrated on one year; check calibration when services or recording change.",
    ]
    return "\n".join(lines) + "\n"


def evaluation_metrics(result) -> dict[str, float]:
    """Fairness, value-of-sharing and calibration-by-band numbers as MLflow metrics, beside
    their CSVs."""
    fair = fairness_metrics(result.fairness) if result.fairness.height else {}
    out = fair | (sharing_metrics(result.sharing) if result.sharing.height else {})
    for name, table in (
        ("publishing", result.publishing_calibration),
        ("judged", result.calibration),
    ):
        for r in table.iter_rows(named=True) if table.height else ():
            band = r["band"].replace("%", "pct").replace(" ", "_").replace("-", "_")
            if r["predicted_to_observed"] == r["predicted_to_observed"]:
                out[f"calibration.{name}.{band}.predicted_to_observed"] = r["predicted_to_observed"]
    return out


def write_artifacts(result, valid_y: np.ndarray, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = _plots(result, valid_y, out)
    paths["model_card"] = out / "model_card.md"
    paths["model_card"].write_text(model_card(result), encoding="utf-8")
    paths["features"] = out / "features.txt"
    paths["features"].write_text("\n".join(result.feature_names) + "\n", encoding="utf-8")
    for name in ("fairness", "sharing"):
        frame = getattr(result, name)
        if frame.height:
            paths[name] = out / f"{name}.csv"
            frame.write_csv(paths[name])
    # both models' bands, the publishing model's first, told apart by the `model` column
    cal = [t for t in (result.publishing_calibration, result.calibration) if t.height]
    if cal:
        paths["calibration"] = out / "calibration.csv"
        pl.concat(cal, how="diagonal_relaxed").write_csv(paths["calibration"])
    return paths
