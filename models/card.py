"""The model card and plots that travel with every model version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl


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


def model_card(result) -> str:
    m = result.metrics
    lines = [
        "# Model card: household crisis risk",
        "",
        f"- Model: {result.kind.replace('_', ' ')}, calibrated ({result.params.calibration}).",
        f"- Trained on households as at {result.train_as_of} ({result.train_rows} households), "
        f"with crises in the 12 months after.",
        f"- Validated on households as at {result.valid_as_of} ({result.valid_rows} households), "
        "with crises in the 12 months after: a later year the model never saw.",
        f"- Features: {len(result.feature_names)} (see features.txt and the feature catalogue).",
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
            f"{result.refit_as_of} ({result.refit_rows} households) with crises in the 12 months "
            f"after, so that it uses the newest year and {result.recency_cap} months of history "
            f"(the model above had {result.eval_recency_cap}). The metrics below are those of "
            "the model trained on the earlier year, judged on the later one: the honest "
            "estimate for the recipe.",
        ]
    lines += [
        "",
        "## Validation metrics",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k.replace('_', ' ')} | {v:.4f} |" for k, v in m.items()]
    lines += [
        "",
        "## Candidates",
        "",
        "| candidate | precision at 1% | AUC | average precision |",
        "|---|---|---|---|",
    ]
    for kind, cm in result.candidate_metrics.items():
        p1, auc, ap = cm["precision_at_1pct"], cm["auc"], cm["average_precision"]
        lines.append(f"| {kind} | {p1:.3f} | {auc:.3f} | {ap:.3f} |")
    flagged = result.fairness.filter(pl.col("flag")) if result.fairness.height else result.fairness
    lines += ["", "## Fairness", ""]
    if flagged.height:
        lines.append("Groups whose recall at 5% capacity is below 0.8 of the best-served group's:")
        lines += [
            f"- {r['grouping']}: {r['group']} (ratio {r['recall_ratio_to_best']:.2f})"
            for r in flagged.iter_rows(named=True)
        ]
    else:
        lines.append("No group's recall at 5% capacity is below 0.8 of the best-served group's.")
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
