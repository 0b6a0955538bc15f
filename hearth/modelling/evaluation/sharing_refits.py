"""The value-of-sharing refits (hearth/modelling/evaluation/sharing.py says what the table
shows): `sharing_plan` decides the rows, `sharing_fit` fits one row (independent of the others:
a partnership's run fits them in steps of their own, hearth/modelling/training/staged.py) and
`sharing_table` makes the table from them; `value_of_sharing` does all three in one call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from hearth.features.catalogue import Catalogue
from hearth.modelling.evaluation.metrics import evaluate_scores
from hearth.modelling.evaluation.sharing import (
    INTERVAL_COLUMNS,
    JOINED,
    JOINED_REFIT,
    refit_sets,
    sharing_intervals,
    sharing_row,
)
from hearth.modelling.training.params import TrainParams


@dataclass
class SharingPlan:
    """The value-of-sharing refits, decided from the training window: which rows (a label and
    its agencies, in the table's order), the case-control sample and the light parameters they
    are fitted with, and whether they are lighter than the model (then the joined data
    refitted the same light way is their reference)."""

    sets: list[tuple[str, set[str]]]
    sample: np.ndarray
    light: TrainParams
    lighter: bool


def sharing_plan(train, cat: Catalogue, params: TrainParams) -> SharingPlan:
    """`train` is hearth.modelling.training.selection.Window; `params` the model's."""
    from hearth.modelling.training.fit import fitting_sample  # scikit-learn: on use

    everything = np.ones(len(train.y), dtype=bool)
    sample = fitting_sample(train.pids, train.y, params.sharing_max_negatives, everything)
    # Nine refits compare rankings, not probabilities: one fit each (a held-back fifth
    # calibrates), never the five-fold cross-fit of the model itself.
    one_fit = "isotonic" if params.calibration == "crossfit" else params.calibration
    light = replace(
        params, max_iter=min(params.max_iter, params.sharing_max_iter), calibration=one_fit
    )
    # The refits match the model's own fit when nothing is lightened: then the model is the
    # reference; otherwise the joined data refitted the same light way is.
    lighter = bool((~sample).any()) or light != params
    sets = refit_sets(cat)
    if lighter:
        sets.insert(0, (JOINED_REFIT, set(cat.agencies)))
    return SharingPlan(sets, sample, light, lighter)


def sharing_fit(
    plan: SharingPlan,
    row: int,
    train,
    valid,
    cat: Catalogue,
    names: list[str],
    kind: str,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[int, np.ndarray] | None:
    """The plan's `row`-th refit: the features it was fitted on (how many) and its validation
    scores; None when the set has no feature in use. Independent of every other row (the
    partnership's run fits the rows in steps of their own: hearth/modelling/training/staged.py)."""
    from hearth.modelling.training.blocks import crisis_probability
    from hearth.modelling.training.fit import fit_candidate

    label, agencies = plan.sets[row]
    progress(f"value of sharing: {label}")
    # Themes are counted over these agencies' records only: what they could build alone.
    usable = set(names)
    cols = (
        names
        if agencies >= set(cat.agencies)
        else [n for n in cat.features_of(agencies) if n in usable]
    )
    if not cols:  # nothing this set could fit on (no register features in use)
        return None
    t_sub, v_sub = train.restricted(agencies, cat), valid.restricted(agencies, cat)
    sample = plan.sample
    m = fit_candidate(
        kind, t_sub.X(cols, sample), train.y[sample], train.pids[sample], cols, plan.light
    )
    return len(cols), crisis_probability(m, v_sub.X(cols))


def sharing_table(
    plan: SharingPlan,
    fits: list[tuple[int, np.ndarray] | None],
    valid,
    model: tuple[list[str], int, dict[str, float], np.ndarray | None],
    fixed_k: int,
    progress: Callable[[str], None],
    resamples: int | None = None,
) -> pl.DataFrame:
    """The table from the plan's refits (`fits`, one per row of the plan, `sharing_fit`'s);
    `model`: the chosen candidate's features, training households, validation metrics and
    scores (the first row)."""
    names, train_households, model_metrics, model_scores = model
    rows = [sharing_row(JOINED, len(names), train_households, model_metrics)]
    seen: list[tuple[str, np.ndarray]] = []
    scored: dict[str, np.ndarray] = {} if model_scores is None else {JOINED: model_scores}
    fitted_on = int(plan.sample.sum())
    for (label, _), fit in zip(plan.sets, fits, strict=True):
        if fit is None:
            continue
        features, scores = fit
        same = next((lab for lab, s in seen if np.array_equal(s, scores)), "")
        seen.append((label, scores))
        scored[label] = scores
        met = evaluate_scores(valid.y, scores, valid.pids, fixed_k)
        rows.append(sharing_row(label, features, fitted_on, met, same))
    out = pl.DataFrame(rows)
    ref_label = JOINED_REFIT if plan.lighter else JOINED
    reference = out.filter(pl.col("model") == ref_label)
    joined = reference.item(0, "precision_at_1pct") or float("nan")
    out = out.with_columns((pl.col("precision_at_1pct") / joined).alias("share_of_joined_p1"))
    progress("value of sharing: intervals, a paired bootstrap over households")
    bounds = sharing_intervals(valid.y, scored, valid.pids, ref_label, resamples)
    return out.with_columns(
        pl.Series(c, [bounds.get(m, {}).get(c, float("nan")) for m in out["model"]], pl.Float64)
        for c in INTERVAL_COLUMNS
    )


def value_of_sharing(
    train,
    valid,
    cat: Catalogue,
    params: TrainParams,
    fixed_k: int,
    progress: Callable[[str], None],
    names: list[str],
    kind: str,
    model_metrics: dict[str, float],
    model_scores: np.ndarray | None = None,
    resamples: int | None = None,
) -> pl.DataFrame:
    """`train` and `valid` are hearth.modelling.training.selection.Window; `kind`,
    `model_metrics` and `model_scores` are the chosen candidate's, its validation metrics
    (the first row) and its validation scores (for the first row's interval; without them the
    first row has none)."""
    plan = sharing_plan(train, cat, params)
    fits = [
        sharing_fit(plan, row, train, valid, cat, names, kind, progress)
        for row in range(len(plan.sets))
    ]
    model = (names, len(train.y), model_metrics, model_scores)
    return sharing_table(plan, fits, valid, model, fixed_k, progress, resamples)
