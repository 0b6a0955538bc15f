"""Capacity metrics: how many of the households that reach a crisis a ranked list finds within
the number of visits agencies can make. Ties are broken the same way every time: by score,
then by household pseudonym."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from hearth.modelling.scoring.ranking import top_count


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
    from sklearn.metrics import (  # sklearn
        average_precision_score,
        brier_score_loss,
        roc_auc_score,
    )

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


# The champion must beat the contact-count baseline at 1% by a margin the data can show: of the
# crises on exactly one of the two lists, more must be on the model's than chance would give.
MARGIN_P = 0.05
# versus_baseline's counts of households and crises (the rest is its p-value): what a delivered
# copy rounds (hearth/publish/model_files.py reads these names from here).
BASELINE_COUNTS = (
    "baseline_check.listed_at_1pct",
    "baseline_check.model_found_at_1pct",
    "baseline_check.baseline_found_at_1pct",
    "baseline_check.found_only_by_model",
    "baseline_check.found_only_by_baseline",
)


def sign_test_p(only_model: int, only_baseline: int) -> float:
    """One-sided exact sign test: the chance of at least `only_model` of the crises found by
    one list alone being the model's, if either list were as likely to find each."""
    n = only_model + only_baseline
    if n == 0:
        return 1.0
    return sum(math.comb(n, i) for i in range(only_model, n + 1)) / 2**n


def versus_baseline(
    y: np.ndarray,
    model_scores: np.ndarray,
    baseline_scores: np.ndarray,
    household_pid: np.ndarray,
    share: float = 0.01,
) -> dict[str, float]:
    """The two top-`share` lists of the same window, compared crisis by crisis: how many each
    finds, how many only one of them finds, and the sign test's p-value for the model's lead."""
    y = np.asarray(y).astype(bool)
    k = k_for(share, len(y))
    mine = top_k_mask(model_scores, household_pid, k)
    base = top_k_mask(baseline_scores, household_pid, k)
    only_model, only_base = int((y & mine & ~base).sum()), int((y & base & ~mine).sum())
    counts = (k, (y & mine).sum(), (y & base).sum(), only_model, only_base)
    return {
        **{name: float(n) for name, n in zip(BASELINE_COUNTS, counts, strict=True)},
        "baseline_check.p_value": sign_test_p(only_model, only_base),
    }


def baseline_margin(metrics: dict[str, float]) -> tuple[bool, str]:
    """Whether the model beats the contact-count baseline at 1% by a margin the data can show,
    and a sentence saying so (from `versus_baseline`'s metrics, as logged)."""
    need = ("found_only_by_model", "found_only_by_baseline", "p_value", "listed_at_1pct")
    if any(f"baseline_check.{n}" not in metrics for n in need):
        return False, (
            "The champion's MLflow run has no comparison with the contact-count baseline "
            "(baseline_check metrics), so whether it beats the baseline cannot be shown; "
            "train a new version."
        )
    a = int(metrics["baseline_check.found_only_by_model"])
    b = int(metrics["baseline_check.found_only_by_baseline"])
    p = float(metrics["baseline_check.p_value"])
    k = int(metrics["baseline_check.listed_at_1pct"])
    found = (
        f"of the crises on only one of the two top-1% lists ({k:,} households each) on the "
        f"validation window, the model's list found {a} and the contact-count baseline's {b}"
    )
    if p < MARGIN_P:
        return True, f"The champion beats the contact-count baseline: {found} (p = {p:.3f})."
    return False, (
        f"The champion does not beat the contact-count baseline at 1% by a margin the data can "
        f"show: {found}, a lead chance alone gives with p = {p:.2f} (below {MARGIN_P} is "
        "needed). On an area this size the list may be no better than counting contacts: read "
        "it with that in mind, and check again as more history arrives."
    )


# --- average precision with its uncertainty (the model choice and the gate) ----------------
BOOTSTRAP_RESAMPLES = 400


def _ap_parts(scores: np.ndarray, household_pid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ranking (highest first) and where each group of tied scores starts in it."""
    order = rank_order(scores, household_pid)
    s = np.asarray(scores, dtype=float)[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return order, starts


def weighted_ap(y: np.ndarray, order: np.ndarray, starts: np.ndarray, w: np.ndarray) -> float:
    """Average precision of a ranking with each household counted `w` times (a bootstrap
    resample); households with equal scores form one step, as scikit-learn counts them."""
    wy = (w * y)[order]
    positives = wy.sum()
    if positives <= 0:
        return float("nan")
    ends = np.r_[starts[1:], len(order)] - 1
    hits = np.cumsum(wy)[ends]
    seen = np.cumsum(w[order])[ends]
    gained = np.diff(np.r_[0.0, hits])
    return float((gained * hits / np.maximum(seen, 1e-12)).sum() / positives)


def resamples_for(households: int) -> int:
    """Fewer resamples on a large area, where each costs more and the lead is measured on more
    households (at least 100: a p-value to 0.01)."""
    return max(100, min(BOOTSTRAP_RESAMPLES, BOOTSTRAP_RESAMPLES * 100_000 // max(households, 1)))


def paired_ap_difference(
    y: np.ndarray,
    scores: np.ndarray,
    reference: np.ndarray,
    household_pid: np.ndarray,
    resamples: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """How far `scores` is ahead of `reference` in average precision over the whole window, and
    how often chance alone would give that lead: a paired bootstrap over households (each
    resample weighs every household by a Poisson(1) count, the same for both rankings).
    `p_value` is the share of resamples in which `scores` is not ahead."""
    y = np.asarray(y, dtype=float)
    a, b = _ap_parts(scores, household_pid), _ap_parts(reference, household_pid)
    ones = np.ones(len(y))
    diff = weighted_ap(y, *a, ones) - weighted_ap(y, *b, ones)
    if not np.isfinite(diff):
        return {"ap_difference": float("nan"), "p_value": 1.0, "resamples": 0.0}
    resamples = resamples or resamples_for(len(y))
    rng = np.random.default_rng(seed)
    behind = 0
    for _ in range(resamples):
        w = rng.poisson(1.0, len(y)).astype(float)
        d = weighted_ap(y, *a, w) - weighted_ap(y, *b, w)
        behind += not d > 0
    return {
        "ap_difference": float(diff),
        "p_value": (behind + 1) / (resamples + 1),
        "resamples": float(resamples),
    }


# The calibration plot's bands down the list: the top of the list where it is read, then tenths.
CALIBRATION_BANDS = (
    ("top 1%", 0.0, 0.01),
    ("1-5%", 0.01, 0.05),
    ("5-10%", 0.05, 0.10),
    *((f"{lo}-{lo + 10}%", lo / 100, (lo + 10) / 100) for lo in range(10, 100, 10)),
)


def calibration_bands(
    y: np.ndarray, prob: np.ndarray, household_pid: np.ndarray, model: str = ""
) -> pl.DataFrame:
    """Mean predicted chance against the share that had a crisis, in bands of the ranked list
    (the top 1%, 1-5%, 5-10%, then each further tenth), with each band's crises and the ratio
    of predicted to observed: the top 1%'s error is what a list's reader acts on."""
    y, prob = np.asarray(y, dtype=float), np.asarray(prob, dtype=float)
    order, n = rank_order(prob, household_pid), len(y)
    rows = []
    for band, lo, hi in CALIBRATION_BANDS:
        a, b = k_for(lo, n) if lo > 0 else 0, k_for(hi, n) if hi < 1 else n
        idx = order[a:b]
        if not len(idx):
            continue
        pred, obs = float(prob[idx].mean()), float(y[idx].mean())
        rows.append(
            {
                "model": model,
                "band": band,
                "households": len(idx),
                "crises": int(y[idx].sum()),
                "mean_predicted": pred,
                "observed_rate": obs,
                "predicted_to_observed": pred / obs if obs > 0 else float("nan"),
            }
        )
    return pl.DataFrame(rows)
