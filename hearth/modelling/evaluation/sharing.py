"""The value of sharing: what each agency's data adds to the list.

The first row is the model itself ("all agencies joined"): the chosen candidate judged on the
validation window, the same numbers as the model card. Below it, the same kind of model is
fitted on each agency's data alone and on all agencies but one, each theme counted over those
agencies' records only, with the same settings on the same training households. The refits are
lighter than the model (one fit each rather than its cross-fit, and on a large area fewer
households without a crisis and fewer trees); then
a second reference row, all agencies joined refitted the lighter way, is what the rows below
are compared with, and the page says so.

Two refits can come out as the very same model: when the trees cannot split on an agency's
records (too few households hold them for the leaf size), the model falls back on the register
(household size, ages, deprivation), and "police alone" and "social care alone" are then both
the register's model. The register alone is a row of its own, and `same_scores_as` names the
earlier row a refit repeats, so a reader can tell a repeat from a coincidence.

Every row's precision at 1% carries a 95% interval, and so does its difference to the row the
others are compared with: a paired bootstrap over the validation households (each resample
weighs every household by one Poisson(1) count, the same for every row, so the rows are compared
on the same households). The words say a row is ahead or behind only when its difference's
interval does not hold 0; otherwise "within noise"."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from hearth.features.catalogue import Catalogue
from hearth.modelling.evaluation.metrics import (
    k_for,
    rank_order,
    resamples_for,
)

JOINED = "all agencies joined (the model)"
JOINED_REFIT = "all agencies joined, refitted as the rows below"
REGISTER = "the register alone (who lives where)"
COLUMNS = (
    "precision_at_1pct",
    "precision_at_5pct",
    "recall_at_1pct",
)


# Each row's precision at 1% with its 95% interval, and its difference (in shares, not points)
# to the reference row with that difference's interval.
INTERVAL_COLUMNS = (
    "precision_at_1pct_low",
    "precision_at_1pct_high",
    "difference_p1",
    "difference_p1_low",
    "difference_p1_high",
)


def sharing_row(label: str, features: int, households: int, met: dict, same: str = "") -> dict:
    return {
        "model": label,
        "features": features,
        "training_households": households,
        **{c: met[c] for c in COLUMNS},
        "same_scores_as": same,
    }


def refit_sets(cat: Catalogue) -> list[tuple[str, set[str]]]:
    """The register alone first (what every partner already shares), so that an agency's
    refit that cannot use its own records shows as the same scores as it."""
    everyone = set(cat.agencies)
    sets: list[tuple[str, set[str]]] = [(REGISTER, set())]
    for agency in cat.agencies:
        sets.append((f"{agency.replace('_', ' ')} alone", {agency}))
        sets.append((f"all but {agency.replace('_', ' ')}", everyone - {agency}))
    return sets


def bootstrap_precision(
    y: np.ndarray,
    scores: list[np.ndarray],
    household_pid: np.ndarray,
    share: float = 0.01,
    resamples: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Precision in the top `share` of each ranking in `scores`, in each of `resamples` paired
    bootstrap resamples (rows: resamples, columns: rankings).

    A resample weighs every household by a Poisson(1) count, the same for every ranking; the
    top is the k = `share` of households counted in rank order with their weights (the last
    household in it counted in part), so each resample's list holds as many as the real one.
    Only the head of each ranking can reach the top, so only it is read: a resample costs the
    draw of the weights, not a sort."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    k = k_for(share, n)
    resamples = resamples or resamples_for(n)
    head = min(n, k + int(10 * np.sqrt(k)) + 50)  # the top k's weights reach k well before this
    heads = [rank_order(s, household_pid)[:head] for s in scores]
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, len(scores)))
    for b in range(resamples):
        w = rng.poisson(1.0, n).astype(float)
        for j, order in enumerate(heads):
            wh, yh = w[order], y[order]
            seen = np.cumsum(wh)
            at = int(np.searchsorted(seen, k))  # the household whose weight reaches k
            if at >= len(order):  # (the head's weights fall short: all of it, as a share)
                out[b, j] = float((wh * yh).sum() / max(seen[-1], 1.0))
                continue
            before = seen[at - 1] if at else 0.0
            out[b, j] = float(((wh[:at] * yh[:at]).sum() + (k - before) * yh[at]) / k)
    return out


def sharing_intervals(
    y: np.ndarray,
    scored: dict[str, np.ndarray],
    household_pid: np.ndarray,
    reference: str,
    resamples: int | None = None,
) -> dict[str, dict[str, float]]:
    """Per row: the 95% interval of its precision at 1% and of its difference to `reference`
    (both from the same paired resamples)."""
    labels = list(scored)
    if not labels:
        return {}
    draws = bootstrap_precision(y, [scored[m] for m in labels], household_pid, 0.01, resamples)
    ref = draws[:, labels.index(reference)] if reference in scored else None
    k = k_for(0.01, len(y))
    out: dict[str, dict[str, float]] = {}
    for j, label in enumerate(labels):
        low, high = np.percentile(draws[:, j], [2.5, 97.5])
        row = {"precision_at_1pct_low": float(low), "precision_at_1pct_high": float(high)}
        if ref is not None:
            own = top_precision(y, scored[label], household_pid, k)
            diff = own - top_precision(y, scored[reference], household_pid, k)
            d_low, d_high = np.percentile(draws[:, j] - ref, [2.5, 97.5])
            row |= {
                "difference_p1": diff,
                "difference_p1_low": float(d_low),
                "difference_p1_high": float(d_high),
            }
        out[label] = row
    return out


def top_precision(y: np.ndarray, scores: np.ndarray, household_pid: np.ndarray, k: int) -> float:
    order = rank_order(scores, household_pid)[:k]
    return float(np.asarray(y, dtype=float)[order].mean()) if k else float("nan")


def difference_words(row: dict, reference: str = "") -> str:
    """One row's difference to the reference row (named if given), in words that claim no more
    than its interval: ahead or behind only when the interval does not hold 0."""
    d, lo, hi = (row.get(c) for c in ("difference_p1", "difference_p1_low", "difference_p1_high"))
    if d is None or lo is None or hi is None or not all(np.isfinite([d, lo, hi])):
        return ""
    span = f"{_points(d)} points (95% interval {_points(lo)} to {_points(hi)})"
    if lo > 0:
        return f"ahead{f' of {reference}' if reference else ''} by {span}"
    if hi < 0:
        return f"behind{f' {reference}' if reference else ''} by {span}"
    return f"within noise{f' of {reference}' if reference else ''}: {span}"


def _points(share: float) -> str:
    value = round(share * 100, 1)
    return f"{'+' if value > 0 else '−' if value < 0 else ''}{abs(value):.1f}"


def sharing_note(table: pl.DataFrame) -> str:
    """Plain sentences on what the rows are compared with and which rows repeat the register
    (for the card and the report)."""
    if not table.height:
        return ""
    note = _compared_with(table["model"].to_list())
    note += noise_note(table)
    if "same_scores_as" in table.columns:
        repeats = table.filter(pl.col("same_scores_as") == REGISTER)["model"].to_list()
        if repeats:
            note += (
                f" {_and(repeats).capitalize()} gave the very same scores as the register alone: "
                "on an area this size too few households hold those records for the model to "
                "learn from them, so those rows say nothing about the agency's data."
            )
    return note


def reference_words(models: list[str]) -> str:
    """The row the others are compared with, in words."""
    return "the joined data refitted the same way" if JOINED_REFIT in models else "the model"


def noise_note(table: pl.DataFrame) -> str:
    """Which rows differ from the reference by more than chance would give, and which do not,
    with a row that scores above it named and its interval given (a refit on fewer agencies'
    data "beating" the joined data is most often noise)."""
    if "difference_p1_low" not in table.columns:
        return ""
    models = table["model"].to_list()
    ref_label = JOINED_REFIT if JOINED_REFIT in models else JOINED
    ref = reference_words(models)
    rows = [
        r
        for r in table.iter_rows(named=True)
        if r["model"] != ref_label
        and r["difference_p1_low"] is not None
        and np.isfinite(r["difference_p1_low"])
    ]
    if not rows:
        return ""
    behind = [r["model"] for r in rows if r["difference_p1_high"] < 0]
    ahead = [r["model"] for r in rows if r["difference_p1_low"] > 0]
    noise = [r["model"] for r in rows if r["difference_p1_low"] <= 0 <= r["difference_p1_high"]]
    out = (
        " Each precision at 1% carries a 95% interval from a paired bootstrap over the "
        f"validation households, and so does its difference to {ref}."
    )
    if behind:
        out += f" Clearly behind {ref} (the interval of the difference below 0): {_and(behind)}."
    if ahead:
        out += f" Clearly ahead of {ref}: {_and(ahead)}."
    if noise:
        out += (
            f" Within noise of {ref} (the interval holds no difference, so the table cannot "
            f"say whether it is better or worse): {_and(noise)}."
        )
    for r in rows:
        if r["difference_p1"] > 0 and r["model"] in noise:
            out += (
                f" {r['model'].capitalize()} scored above {ref} on these households, by "
                f"{difference_words(r, ref).split(': ', 1)[1]}: that is within noise, not a "
                "better list."
            )
    return out


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _compared_with(models: list[str]) -> str:
    if JOINED_REFIT in models:
        return (
            "The first row is the model itself. The refits below it are lighter, to keep them "
            "quick (one fit each, calibrated on a held-back fifth, rather than the model's "
            "cross-fit; on a large area also fewer households without a crisis and fewer "
            "trees), so they are compared with the joined data refitted the same way, not with "
            "the model."
        )
    return (
        "The first row is the model itself; each row below is the same kind of model, "
        "fitted the same way, on fewer agencies' data."
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def sharing_metrics(table: pl.DataFrame) -> dict[str, float]:
    """The table as MLflow metrics: `sharing.<row>.<metric>`."""
    out: dict[str, float] = {}
    for r in table.iter_rows(named=True):
        key = f"sharing.{_slug(r['model'])}"
        for name in (*COLUMNS, "share_of_joined_p1", *INTERVAL_COLUMNS):
            if name not in r:
                continue
            value = float(r[name])
            if np.isfinite(value):
                out[f"{key}.{name}"] = value
    return out
