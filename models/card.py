"""The model card and plots that travel with every model version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hearth.publish.suppression import suppress
from models.fairness import GROUPING_WORDS, QUINTILE_NOTE, RULE, fairness_metrics, wilson
from models.metrics import baseline_margin, k_for
from models.sharing import sharing_metrics, sharing_note


def _plots(result, valid_y: np.ndarray, out: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    paths = {}
    cal = result.calibration
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    hi = max(cal["mean_predicted"].max(), cal["observed_rate"].max())
    ax.plot([0, hi], [0, hi], "--", color="#999", lw=1)
    ax.plot(cal["mean_predicted"], cal["observed_rate"], "o-", color="#b3541e")
    ax.set_xlabel("predicted chance of a crisis")
    ax.set_ylabel("share that had a crisis")
    ax.set_title("Calibration on the validation year")
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
    lines += ["| model trained on | precision at 1% | precision at 5% | recall at 1% | note |"]
    lines += ["|---|---|---|---|---|"]
    for r in share.iter_rows(named=True):
        note = f"the same scores as {r['same_scores_as']}" if r["same_scores_as"] else ""
        lines.append(
            f"| {r['model']} | {_pct(r['precision_at_1pct'])} | {_pct(r['precision_at_5pct'])} "
            f"| {_pct(r['recall_at_1pct'])} | {note} |"
        )
    return lines


def model_card(result) -> str:
    judged_features = len(result.eval_feature_names or result.feature_names)
    lines = [
        "# Model card: household crisis risk",
        "",
        f"- Model: {result.kind.replace('_', ' ')}, calibrated ({result.params.calibration}).",
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
        "say little more); the probabilities are calibrated on a held-back fifth of households "
        "that is not sampled."
    )
    if result.refit_as_of:
        lines += [
            f"- Scoring model: the same recipe fitted again on households as at "
            f"{result.refit_as_of} ({result.refit_rows:,} households) with crises in the 12 "
            f"months after, so that it uses the newest year and {result.recency_cap} months of "
            f"history (the model above had {result.eval_recency_cap}). The metrics below are "
            "those of the model trained on the earlier year, judged on the later one: the "
            "honest estimate for the recipe.",
        ]
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
    lines += ["", "## Data freshness", ""]
    lines += [f"- {s}" for s in result.data_freshness] or [
        "- Every source had sent the month the run needed."
    ]
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
    """Fairness and value-of-sharing numbers as MLflow metrics, beside their CSVs."""
    fair = fairness_metrics(result.fairness) if result.fairness.height else {}
    return fair | (sharing_metrics(result.sharing) if result.sharing.height else {})


def write_artifacts(result, valid_y: np.ndarray, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = _plots(result, valid_y, out)
    paths["model_card"] = out / "model_card.md"
    paths["model_card"].write_text(model_card(result), encoding="utf-8")
    paths["features"] = out / "features.txt"
    paths["features"].write_text("\n".join(result.feature_names) + "\n", encoding="utf-8")
    for name in ("calibration", "fairness", "sharing"):
        frame = getattr(result, name)
        if frame.height:
            paths[name] = out / f"{name}.csv"
            frame.write_csv(paths[name])
    return paths
