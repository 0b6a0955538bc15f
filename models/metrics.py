"""Capacity metrics: how many of the households that reach a crisis a ranked list finds within
the number of visits agencies can make. Ties are broken the same way every time: by score,
then by household pseudonym."""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from hearth.publish.ranked import top_count


def rank_order(scores: np.ndarray, household_pid: np.ndarray) -> np.ndarray:
    """Indices from highest to lowest score; equal scores in pseudonym order."""
    return np.lexsort((household_pid, -np.asarray(scores, dtype=float)))


def _top_k(order: np.ndarray, n: int, k: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[order[: max(0, min(k, n))]] = True
    return mask


def top_k_mask(scores: np.ndarray, household_pid: np.ndarray, k: int) -> np.ndarray:
    return _top_k(rank_order(scores, household_pid), len(scores), k)


def k_for(share_or_count: float, n: int) -> int:
    """k for a share of households (0 < x < 1, rounded up, at least one) or a fixed number
    (x >= 1): the same k as the published top (hearth/publish/ranked.py:top_count)."""
    return top_count(share_or_count, n)


def precision_recall_at_k(
    y: np.ndarray, scores: np.ndarray, household_pid: np.ndarray, k: int
) -> tuple[float, float]:
    return _precision_recall(y, top_k_mask(scores, household_pid, k))


def _precision_recall(y: np.ndarray, sel: np.ndarray) -> tuple[float, float]:
    hits = float(np.asarray(y)[sel].sum())
    positives = float(np.asarray(y).sum())
    return hits / max(sel.sum(), 1), (hits / positives if positives else float("nan"))


def capacity_levels(fixed_k: int) -> dict[str, float]:
    return {"1pct": 0.01, "5pct": 0.05, f"top{fixed_k}": float(fixed_k)}


def evaluate_scores(
    y: np.ndarray, scores: np.ndarray, household_pid: np.ndarray, fixed_k: int = 1000
) -> dict[str, float]:
    """All headline metrics of one ranking on one window."""
    y = np.asarray(y).astype(int)
    out: dict[str, float] = {}
    order = rank_order(scores, household_pid)  # once for every capacity level
    for name, level in capacity_levels(fixed_k).items():
        p, r = _precision_recall(y, _top_k(order, len(y), k_for(level, len(y))))
        out[f"precision_at_{name}"] = p
        out[f"recall_at_{name}"] = r
    both = 0 < y.sum() < len(y)
    out["auc"] = float(roc_auc_score(y, scores)) if both else float("nan")
    out["average_precision"] = float(average_precision_score(y, scores)) if both else float("nan")
    out["prevalence"] = float(y.mean()) if len(y) else float("nan")
    if np.all((scores >= 0) & (scores <= 1)):
        out["brier"] = float(brier_score_loss(y, scores))
    return out


def calibration_table(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Mean predicted against observed crisis rate in equal-count bins of predicted risk."""
    frame = pl.DataFrame({"p": np.asarray(prob, dtype=float), "y": np.asarray(y, dtype=float)})
    frame = (
        frame.sort("p")
        .with_row_index("i")
        .with_columns((pl.col("i") * bins // frame.height).alias("bin"))
    )
    return (
        frame.group_by("bin")
        .agg(
            pl.len().alias("households"),
            pl.col("p").mean().alias("mean_predicted"),
            pl.col("y").mean().alias("observed_rate"),
        )
        .sort("bin")
    )
