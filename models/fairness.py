"""For whom the list works less well: capacity metrics by group, with fairlearn.

The list is cut once for everyone (the top k households overall, as agencies would use it);
then within each group we ask what share of its households that had a crisis were on the list
(recall, "found") and what share of its listed households had one (precision). A group whose
recall is below 0.8 of the best-served group's is flagged."""

from __future__ import annotations

import numpy as np
import polars as pl
from fairlearn.metrics import MetricFrame

from models.metrics import k_for, top_k_mask

FLAG_BELOW = 0.8


# fairlearn computes each metric on a group's rows one element at a time, which takes seconds per
# group on a million households. These metrics need only how many rows share each (group,
# crisis, listed) combination, so each grouping is passed as at most four weighted rows per
# group: the same numbers, exactly, in milliseconds.
def _households(t: np.ndarray, p: np.ndarray, sample_weight: np.ndarray) -> int:
    return int(np.sum(sample_weight))


def _crises(t: np.ndarray, p: np.ndarray, sample_weight: np.ndarray) -> int:
    return int(np.sum(sample_weight * t))


def _precision(t: np.ndarray, p: np.ndarray, sample_weight: np.ndarray) -> float:
    listed = np.sum(sample_weight * p)
    return float(np.sum(sample_weight * t * p) / listed) if listed else 0.0


def _recall(t: np.ndarray, p: np.ndarray, sample_weight: np.ndarray) -> float:
    crises = np.sum(sample_weight * t)
    return float(np.sum(sample_weight * t * p) / crises) if crises else 0.0


METRICS = {"households": _households, "crises": _crises, "precision": _precision, "recall": _recall}


def age_band(oldest_age: pl.Expr) -> pl.Expr:
    return (
        pl.when(oldest_age < 35)
        .then(pl.lit("oldest under 35"))
        .when(oldest_age < 65)
        .then(pl.lit("oldest 35-64"))
        .when(oldest_age < 75)
        .then(pl.lit("oldest 65-74"))
        .otherwise(pl.lit("oldest 75+"))
    )


def group_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The groups we report on, from the scored households' features and register details."""
    return frame.select(
        ("quintile " + ((pl.col("imd_decile") + 1) // 2).cast(pl.Int64).cast(pl.String)).alias(
            "deprivation_quintile"
        ),
        age_band(pl.col("oldest_age")).alias("age_band"),
        pl.col("ethnic_group").fill_null("NOT_STATED").alias("ethnic_group"),
        pl.when(pl.col("lives_alone") > 0)
        .then(pl.lit("lives alone"))
        .otherwise(pl.lit("lives with others"))
        .alias("single_occupant"),
    )


def fairness_table(
    y: np.ndarray,
    scores: np.ndarray,
    household_pid: np.ndarray,
    groups: pl.DataFrame,
    share: float = 0.05,
) -> pl.DataFrame:
    """One row per (grouping, group): households, crises, precision and recall at the capacity
    `share` of all households, and recall's ratio to the best-served group."""
    selected = top_k_mask(scores, household_pid, k_for(share, len(y)))
    rows = []
    for grouping in groups.columns:
        compact = (
            pl.DataFrame(
                {
                    "group": groups[grouping],
                    "crisis": np.asarray(y).astype(np.int64),
                    "listed": selected.astype(np.int64),
                }
            )
            .group_by(["group", "crisis", "listed"])
            .len()
            .sort(["group", "crisis", "listed"])
        )
        weight = compact["len"].to_numpy()
        mf = MetricFrame(
            metrics=METRICS,
            y_true=compact["crisis"].to_numpy(),
            y_pred=compact["listed"].to_numpy(),
            sensitive_features=compact["group"].to_numpy(),
            sample_params={name: {"sample_weight": weight} for name in METRICS},
        )
        by = mf.by_group.reset_index()
        best = float(by["recall"].max()) or 1.0
        for _, r in by.iterrows():
            g = r.iloc[0]
            ratio = float(r["recall"]) / best if best else float("nan")
            rows.append(
                {
                    "grouping": grouping,
                    "group": str(g),
                    "households": int(r["households"]),
                    "crises": int(r["crises"]),
                    "precision": float(r["precision"]),
                    "recall": float(r["recall"]),
                    "recall_ratio_to_best": ratio,
                    "flag": ratio < FLAG_BELOW,
                }
            )
    return pl.DataFrame(rows)
