"""Candidate models and how they are fitted. Temporal design only: the caller passes features
at one as-of date with labels from the 12 months after; nothing here splits rows at random.

Calibration needs data the model has not seen. We hold back a fixed fifth of the training
households, chosen by their pseudonym (the same households every time), all at the same
training date, so no future information is involved."""

from __future__ import annotations

import hashlib

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from hearth.features.catalogue import load_catalogue
from hearth.modelling.training.baseline import ContactCountBaseline
from hearth.modelling.training.candidates import CANDIDATES
from hearth.modelling.training.ensemble import ENSEMBLE, MEMBERS, LogOddsAverage
from hearth.modelling.training.params import TrainParams


def household_sample(household_pid: np.ndarray, share: float, purpose: str) -> np.ndarray:
    """A fixed share of households chosen by pseudonym: the same every run. `purpose` salts
    the choice so that two samples (say calibration, and a sample to train on) are
    independent rather than the same households."""
    cut = int(share * 2**32)
    salt = purpose.encode() + b":"
    return np.array(
        [int(hashlib.sha256(salt + h.encode()).hexdigest()[:8], 16) < cut for h in household_pid]
    )


def fitting_sample(
    household_pid: np.ndarray, y: np.ndarray, max_negatives: int, rows: np.ndarray
) -> np.ndarray:
    """Every household with a crisis and, on a large area, a fixed share of those without,
    about `max_negatives` of them (case-control sampling). Crises are rare, so most of a
    million rows say little the next 300,000 do not; fitting on fewer costs a third of the
    time and moves the model's log-odds by a constant, which the calibration on the full,
    unsampled held-back households then removes. The ranking is unchanged in expectation."""
    negatives = int(((y == 0) & rows).sum())
    if max_negatives <= 0 or negatives <= max_negatives:
        return rows
    share = max_negatives / negatives
    return rows & ((y == 1) | household_sample(household_pid, share, "negatives"))


def calibration_mask(household_pid: np.ndarray, share: float) -> np.ndarray:
    """True for the households held back for calibration."""
    return household_sample(household_pid, share, "calibration")


def _log1p_nonneg(X):
    return np.log1p(np.clip(X, 0, None))


def _keep_columns(X, keep):
    """The kept columns as they are, the others zero (so the coefficients and reasons stay
    one per feature)."""
    return np.where(keep, X, 0)


def logistic_columns(feature_names: list[str]) -> np.ndarray:
    """The logistic regression's inputs: the themes (related records added up across
    agencies), the household and the combinations; not each record kind's own windows. A
    linear model of three hundred overlapping counts chases chance on a small area; a few
    dozen themes are what a practitioner would weigh, and the trees see the rest."""

    cat = load_catalogue()
    known = set(cat.names)
    # a column the catalogue does not describe (a data scientist's own) is the regression's too
    return np.array(
        [n not in known or cat.by_name(n).agency in ("combined", "register") for n in feature_names]
    )


def contact_columns(feature_names: list[str]) -> list[int]:
    """The baseline's inputs: each agency record kind's 12-month count, once (themes and
    combinations would count the same record twice)."""

    cat = load_catalogue()
    out = []
    for i, name in enumerate(feature_names):
        f = cat.by_name(name)
        if f.kind == "count" and f.window == 12 and not f.members:
            out.append(i)
    return out


def monotone_constraints(feature_names: list[str]) -> list[int]:
    """Each feature's direction from the catalogue (+1 counts of records of need, -1 months
    since the latest, 0 the rest): never set by hand per feature."""

    return load_catalogue().monotone_constraints(feature_names)


def make_estimator(kind: str, params: TrainParams, feature_names: list[str]):
    if kind == "baseline":
        return ContactCountBaseline(columns=contact_columns(feature_names))
    if kind == "logistic":
        return make_pipeline(
            FunctionTransformer(_keep_columns, kw_args={"keep": logistic_columns(feature_names)}),
            FunctionTransformer(_log1p_nonneg),
            StandardScaler(),
            LogisticRegression(C=params.logistic_c, max_iter=500),
        )
    if kind == "gradient_boosting":
        return HistGradientBoostingClassifier(
            max_iter=params.max_iter,
            learning_rate=params.learning_rate,
            max_leaf_nodes=params.max_leaf_nodes,
            min_samples_leaf=params.min_samples_leaf,
            l2_regularization=params.l2_regularization,
            monotonic_cst=monotone_constraints(feature_names) if params.monotone else None,
            early_stopping=False,
            random_state=params.seed,
        )
    raise ValueError(f"Unknown candidate model '{kind}'; choose from {', '.join(CANDIDATES)}.")


def fit_candidate(
    kind: str,
    X: np.ndarray,
    y: np.ndarray,
    household_pid: np.ndarray,
    feature_names: list[str],
    params: TrainParams,
):
    """Fit one candidate on the training households and calibrate it on the held-back ones
    (the ensemble: each of its members, then their average)."""
    if kind == ENSEMBLE:
        members = [fit_candidate(m, X, y, household_pid, feature_names, params) for m in MEMBERS]
        return LogOddsAverage(members)
    est = make_estimator(kind, params, feature_names)
    if kind == "baseline":  # the baseline is its own calibration
        return est.fit(X, y)
    cal = calibration_mask(household_pid, params.calibration_share)
    fit = fitting_sample(household_pid, y, params.max_negatives, ~cal)
    est.fit(X[fit], y[fit])
    if y[cal].sum() == 0:
        return est
    return CalibratedClassifierCV(FrozenEstimator(est), method=params.calibration).fit(
        X[cal], y[cal]
    )


def inner_estimator(model):
    """The fitted model under its calibration, for explanations."""
    if isinstance(model, CalibratedClassifierCV):
        inner = model.calibrated_classifiers_[0].estimator
        return inner.estimator if isinstance(inner, FrozenEstimator) else inner
    return model
