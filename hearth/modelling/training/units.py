"""The candidates' fits as units independent of each other, for a partnership's run that fits
each in a step of its own (hearth/modelling/training/staged.py): `fit_units` names them,
`fit_unit` fits one as `fit_candidates` (hearth/modelling/training/fit.py) fits it, and
`fitted_from_units` puts them together into what `fit_candidates` returns, the same models."""

from __future__ import annotations

import numpy as np

from hearth.modelling.training.ensemble import ENSEMBLE, MEMBERS, LogOddsAverage
from hearth.modelling.training.fit import (
    _fit_sigmoid,
    calibrated,
    calibration_method,
    ensemble_fit,
    make_estimator,
    raw_fits,
)
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.threads import fitting_threads


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
