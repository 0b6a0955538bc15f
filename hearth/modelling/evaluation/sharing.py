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
earlier row a refit repeats, so a reader can tell a repeat from a coincidence."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import polars as pl

from hearth.features.catalogue import Catalogue
from hearth.modelling.evaluation.metrics import evaluate_scores
from hearth.modelling.training.fit import fit_candidate, fitting_sample
from hearth.modelling.training.params import TrainParams

JOINED = "all agencies joined (the model)"
JOINED_REFIT = "all agencies joined, refitted as the rows below"
REGISTER = "the register alone (who lives where)"
COLUMNS = (
    "precision_at_1pct",
    "precision_at_5pct",
    "recall_at_1pct",
)


def _row(label: str, features: int, households: int, met: dict, same: str = "") -> dict:
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
) -> pl.DataFrame:
    """`train` and `valid` are hearth.modelling.training.selection.Window; `kind` and
    `model_metrics` are the chosen
    candidate's and its validation metrics (the first row)."""
    everything = np.ones(len(train.y), dtype=bool)
    sample = fitting_sample(train.pids, train.y, params.sharing_max_negatives, everything)
    # Nine refits compare rankings, not probabilities: one fit each (a held-back fifth
    # calibrates), never the five-fold cross-fit of the model itself.
    one_fit = "isotonic" if params.calibration == "crossfit" else params.calibration
    light = replace(
        params, max_iter=min(params.max_iter, params.sharing_max_iter), calibration=one_fit
    )
    usable = set(names)
    rows = [_row(JOINED, len(names), len(train.y), model_metrics)]
    # The refits match the model's own fit when nothing is lightened: then the model is the
    # reference; otherwise the joined data refitted the same light way is.
    lighter = bool((~sample).any()) or light != params
    sets = refit_sets(cat)
    if lighter:
        sets.insert(0, (JOINED_REFIT, set(cat.agencies)))
    seen: list[tuple[str, np.ndarray]] = []
    for label, agencies in sets:
        progress(f"value of sharing: {label}")
        # Themes are counted over these agencies' records only: what they could build alone.
        cols = (
            names
            if agencies >= set(cat.agencies)
            else [n for n in cat.features_of(agencies) if n in usable]
        )
        if not cols:  # nothing this set could fit on (no register features in use)
            continue
        t_sub, v_sub = train.restricted(agencies, cat), valid.restricted(agencies, cat)
        m = fit_candidate(
            kind, t_sub.X(cols, sample), train.y[sample], train.pids[sample], cols, light
        )
        scores = m.predict_proba(v_sub.X(cols))[:, 1]
        same = next((lab for lab, s in seen if np.array_equal(s, scores)), "")
        seen.append((label, scores))
        met = evaluate_scores(valid.y, scores, valid.pids, fixed_k)
        rows.append(_row(label, len(cols), int(sample.sum()), met, same))
    out = pl.DataFrame(rows)
    reference = out.filter(pl.col("model") == (JOINED_REFIT if lighter else JOINED))
    joined = reference.item(0, "precision_at_1pct") or float("nan")
    return out.with_columns((pl.col("precision_at_1pct") / joined).alias("share_of_joined_p1"))


def sharing_note(table: pl.DataFrame) -> str:
    """Plain sentences on what the rows are compared with and which rows repeat the register
    (for the card and the report)."""
    if not table.height:
        return ""
    note = _compared_with(table["model"].to_list())
    if "same_scores_as" in table.columns:
        repeats = table.filter(pl.col("same_scores_as") == REGISTER)["model"].to_list()
        if repeats:
            note += (
                f" {_and(repeats).capitalize()} gave the very same scores as the register alone: "
                "on an area this size too few households hold those records for the model to "
                "learn from them, so those rows say nothing about the agency's data."
            )
    return note


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
        for name in (*COLUMNS, "share_of_joined_p1"):
            value = float(r[name])
            if np.isfinite(value):
                out[f"{key}.{name}"] = value
    return out
