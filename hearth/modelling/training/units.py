"""The candidates' fits as units independent of each other, for a partnership's run that fits
each in a step of its own (hearth/modelling/training/staged.py): `fit_units` names them,
`fit_unit` fits one as `fit_candidates` (hearth/modelling/training/fit.py) fits it, and
`fitted_from_units` puts them together into what `fit_candidates` returns, the same models.

The trees' fit with out-of-fold stopping (hearth/modelling/training/stopping.py) is five fold
fits independent of each other, then the kept count chosen from all five and one more fit at
it: `fold_units` names its folds as units of their own (`gradient_boosting_fold_<f>`),
`fit_fold` fits one, and `pool_folds` makes from them what `fit_unit` makes in one call."""

from __future__ import annotations

import numpy as np

from hearth.modelling.training.ensemble import ENSEMBLE, MEMBERS, LogOddsAverage
from hearth.modelling.training.fit import (
    LOGIT_MAX,
    RawFit,
    _fit_sigmoid,
    calibrated,
    calibration_method,
    ensemble_fit,
    make_estimator,
    raw_fits,
    trees_at,
)
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.sampling import fitting_sample, household_folds
from hearth.modelling.training.stopping import FoldFit, fold_fit, pooled
from hearth.modelling.training.threads import fitting_threads

FOLD = "_fold_"  # a unit that is one fold of a unit's fit: <unit>_fold_<f>


def fit_units(kinds) -> list[str]:
    """What `fit_candidates(kinds)` fits: every learned kind, the ensemble's members in its
    place (the ensemble is made from their fits); not the baseline, fitted in no time when the
    units are put together."""
    learned = [k for k in kinds if k not in ("baseline", ENSEMBLE)]
    if ENSEMBLE in kinds:
        learned += [m for m in MEMBERS if m not in learned]
    return learned


def fit_unit(kind: str, X, y, household_pid, feature_names: list[str], params: TrainParams):
    """One unit of `fit_units`: for the isotonic calibrations its `RawFit` (cross-fitted, or on
    all but the held-back fifth), for Platt scaling the calibrated model."""
    with fitting_threads(params):
        method = calibration_method(params, len(y))
        if method == "sigmoid":
            return _fit_sigmoid(kind, X, y, household_pid, feature_names, params)
        return raw_fits([kind], X, y, household_pid, feature_names, params, method)[kind]


def fitted_from_units(
    kinds,
    units: dict[str, object],
    X,
    y: np.ndarray,
    feature_names: list[str],
    params: TrainParams,
    checks: dict | None = None,
) -> dict[str, object]:
    """`fit_candidates(kinds)`'s result from its units' fits (`fit_unit`, wherever each was
    fitted): the baseline fitted on `X` (the matrix, or a function giving it: only the baseline
    reads it), the ensemble made from its members, each learned kind calibrated."""
    with fitting_threads(params):
        method = calibration_method(params, len(y))
        out: dict[str, object] = {}
        if "baseline" in kinds:  # the baseline is its own calibration
            matrix = X() if callable(X) else X
            out["baseline"] = make_estimator("baseline", params, feature_names).fit(matrix, y)
        learned = [k for k in kinds if k != "baseline"]
        if method == "sigmoid":  # the ensemble: its members' Platt-scaled fits averaged
            for kind in learned:
                members = [units[m] for m in MEMBERS] if kind == ENSEMBLE else None
                out[kind] = LogOddsAverage(members) if members else units[kind]
            return out
        raws = {k: units[k] for k in learned if k != ENSEMBLE}
        if ENSEMBLE in learned:
            raws[ENSEMBLE] = ensemble_fit([units[m] for m in MEMBERS])
        return out | calibrated(learned, raws, y, method, checks)


def in_folds(kind: str, params: TrainParams, households: int) -> bool:
    """Whether `kind`'s fit on this many households is the trees' stopped cross-fit, whose
    fold fits can each be a unit of their own."""
    return (
        kind == "gradient_boosting"
        and params.oof_stopping
        and calibration_method(params, households) == "crossfit"
    )


def fold_units(kinds, params: TrainParams, households: int) -> list[str]:
    """`fit_units(kinds)`, with a fit in folds (`in_folds`) as one unit per fold instead:
    `gradient_boosting_fold_0` .. `_fold_4`, put together by `pool_folds`."""
    out: list[str] = []
    for unit in fit_units(kinds):
        if in_folds(unit, params, households):
            out += [f"{unit}{FOLD}{f}" for f in range(params.crossfit_folds)]
        else:
            out.append(unit)
    return out


def split_fold(unit: str) -> tuple[str, int | None]:
    """A unit's kind and fold (None: the whole fit)."""
    kind, _, fold = unit.partition(FOLD)
    return kind, int(fold) if fold else None


def _stopped(X, y, household_pid, feature_names, params: TrainParams):
    """What fit.py's `raw_fits` gives `crossfit_stopped`: the trees' fit on exactly the rows
    given at `n` iterations, the folds, and the one case-control sample of every fit."""

    folds = household_folds(household_pid, params.crossfit_folds)
    everyone = np.ones(len(y), dtype=bool)
    sample = fitting_sample(household_pid, y, params.max_negatives, everyone)
    return trees_at(X, y, feature_names, params), folds, sample


def fit_fold(
    kind: str, fold: int, X, y, household_pid, feature_names: list[str], params: TrainParams
) -> FoldFit | None:
    """One fold of `kind`'s fit in folds (stopping.py: `fold_fit`); None for a fold without a
    household or whose other folds hold no crisis."""
    if not in_folds(kind, params, len(y)):
        raise ValueError(
            f"The {kind.replace('_', ' ')} fit on {len(y)} households is not fitted in folds."
        )
    with fitting_threads(params):
        trees, folds, sample = _stopped(X, y, household_pid, feature_names, params)
        if not (folds == fold).any():
            return None
        return fold_fit(trees, X, y, folds, sample, fold, params.max_iter, params.stopping)


def pool_folds(
    kind: str, fits: dict[int, FoldFit | None], X, y, household_pid, feature_names, params
) -> RawFit:
    """`kind`'s fit from its folds' (`fit_fold`, wherever each was fitted): their out-of-fold
    scores pooled, the kept count chosen and the model at it; what `fit_unit(kind)` returns."""
    with fitting_threads(params):
        trees, folds, sample = _stopped(X, y, household_pid, feature_names, params)
        got = pooled(
            trees,
            X,
            y,
            folds,
            sample,
            [fits[f] for f in np.unique(folds)],
            params.max_iter,
            LOGIT_MAX,
            params.bagged_trees,
            params.stopping,
        )
    return RawFit(got[0], np.ones(len(y), dtype=bool), got[1], folds, oof_loss=got[2])
