"""Candidate models and how they are fitted. Temporal design only: the caller passes features
at one as-of date with labels from the 12 months after; nothing here splits rows at random.

Calibration needs scores the model did not fit. By default (`calibration = "crossfit"`) every
training household gets one: the households are split into five folds by pseudonym (the same
folds every run), the candidate is fitted five times on four folds and scores the fifth, and an
increasing map from those out-of-fold log-odds to the crisis rate (isotonic regression, its
steps joined by straight lines so it makes no ties) calibrates the candidate fitted once more on
every household. The themes' logistic regression and the small trees multiply odds while the
risks of a household add up, so their probabilities climb too fast at the top of the list; a
sigmoid (Platt) map cannot bend back, the isotonic one can. It costs five extra fits, so above
`crossfit_max_households` (where a held-back fifth holds thousands of crises) the map is fitted
on a held-back fifth instead (`"isotonic"`); `"sigmoid"` is the earlier Platt scaling on it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from hearth.features.catalogue import load_catalogue
from hearth.modelling.training.baseline import ContactCountBaseline
from hearth.modelling.training.blocks import crisis_probability
from hearth.modelling.training.candidates import CANDIDATES
from hearth.modelling.training.ensemble import ENSEMBLE, MEMBERS, LogOddsAverage
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.sampling import calibration_mask, fitting_sample, household_folds
from hearth.modelling.training.stopping import crossfit_stopped
from hearth.modelling.training.threads import fitting_threads
from hearth.modelling.training.tree_seeds import fit_trees


def _log1p_nonneg(X):
    # in float64: the regression's products in float32 differ with the BLAS thread count (at
    # 1e-8), and the published score must be what any loader of the model computes
    return np.log1p(np.clip(np.asarray(X, dtype=np.float64), 0, None))


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
            max_features=params.max_features,
            monotonic_cst=monotone_constraints(feature_names) if params.monotone else None,
            early_stopping=False,
            random_state=params.seed,
        )
    raise ValueError(f"Unknown candidate model '{kind}'; choose from {', '.join(CANDIDATES)}.")


CALIBRATIONS = ("crossfit", "isotonic", "sigmoid")
TIE_BREAK = 1e-6  # at most this added, increasing in the raw score: a calibrated map never ties
EPS = 1e-12
LOGIT_MAX = float(np.log1p(-EPS) - np.log(EPS))  # raw_logit's clip, in log-odds


def raw_logit(model, X: np.ndarray) -> np.ndarray:
    """A fitted (uncalibrated) model's log-odds."""
    p = np.clip(crisis_probability(model, X).astype(np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def isotonic_knots(raw: np.ndarray, y: np.ndarray, min_block: int) -> tuple[np.ndarray, np.ndarray]:
    """The increasing map from log-odds to the crisis rate, as knots to join by straight lines:
    isotonic regression's blocks, each shown by its mean log-odds and its crisis rate. A block
    of fewer than `min_block` households is pooled with the blocks above it (from the top of
    the list down), so that two or three households at the very top cannot set their own rate
    of 0 or 1; pooling neighbours keeps the map increasing."""
    raw, y = np.asarray(raw, dtype=np.float64), np.asarray(y, dtype=np.float64)
    order = np.argsort(raw, kind="stable")
    r = raw[order]
    fitted = IsotonicRegression(out_of_bounds="clip").fit_transform(r, y[order])
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    counts = np.diff(np.r_[starts, len(r)])
    sum_x, sum_y = np.add.reduceat(r, starts), fitted[starts] * counts
    # pooled blocks from the top down, each as (households, sum of log-odds, crises)
    pooled: list[list[float]] = []
    acc = [0.0, 0.0, 0.0]
    for i in range(len(starts) - 1, -1, -1):
        acc = [acc[0] + counts[i], acc[1] + sum_x[i], acc[2] + sum_y[i]]
        if acc[0] >= min_block:
            pooled.append(acc)
            acc = [0.0, 0.0, 0.0]
    if acc[0]:  # the households left at the bottom join the lowest block
        if pooled:
            pooled[-1] = [a + b for a, b in zip(pooled[-1], acc, strict=True)]
        else:
            pooled.append(acc)
    xs = [b[1] / b[0] for b in pooled]
    ys = [b[2] / b[0] for b in pooled]
    return np.array(xs[::-1]), np.array(ys[::-1])


class IsotonicCalibrated(ClassifierMixin, BaseEstimator):
    """A fitted model whose log-odds become probabilities through increasing knots joined by
    straight lines (flat beyond the first and last), plus a tie-break of at most `TIE_BREAK`
    increasing in the log-odds: the ranking is the model's own, with no ties it did not have."""

    def __init__(self, estimator=None, knots_x=None, knots_y=None, method: str = "crossfit"):
        self.estimator = estimator
        self.knots_x = knots_x
        self.knots_y = knots_y
        self.method = method

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def fit(self, X, y):  # fitted by fit_candidate
        return self

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        p = np.interp(raw, self.knots_x, self.knots_y) + TIE_BREAK / (1 + np.exp(-raw))
        return np.clip(p, 0.0, 1.0)

    def predict_proba(self, X) -> np.ndarray:
        p = self.calibrate(raw_logit(self.estimator, X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


@dataclass
class RawFit:
    """A candidate fitted without calibration, and the log-odds it (or its fold models) gave
    the households its calibration is fitted on (`rows`), scores it did not fit."""

    model: object
    rows: np.ndarray  # bool mask of the training households
    logit: np.ndarray  # out-of-fold (or held-back) log-odds of those households
    folds: np.ndarray  # each of those households' fold, for the calibration check
    # the trees' out-of-fold log-loss after each iteration, when it chose them (stopping.py)
    oof_loss: np.ndarray | None = None


def calibration_method(params: TrainParams, households: int) -> str:
    """The calibration used for this many training households (crossfit only where it pays)."""
    if params.calibration not in CALIBRATIONS:
        raise ValueError(
            f"Unknown calibration '{params.calibration}'; choose from {', '.join(CALIBRATIONS)}."
        )
    if params.calibration == "crossfit" and households > params.crossfit_max_households:
        return "isotonic"
    return params.calibration


def _fit_rows(kind, X, y, household_pid, feature_names, params, rows):
    fit = fitting_sample(household_pid, y, params.max_negatives, rows)
    return _fit_on(kind, X, y, feature_names, params, fit)


def trees_at(X, y, feature_names, params):
    """`fit(rows, n)` for stopping.py: the trees fitted on exactly `rows` at `n` iterations."""
    return lambda rows, n: _fit_on(
        "gradient_boosting", X, y, feature_names, replace(params, max_iter=n), rows
    )


def _fit_on(kind, X, y, feature_names, params, fit):
    """Fitted on exactly the rows `fit` (a sampled mask); the trees as tree_seeds.py fits them."""
    if kind == "gradient_boosting":
        return fit_trees(make_estimator, X[fit], y[fit], feature_names, params)
    return make_estimator(kind, params, feature_names).fit(X[fit], y[fit])


def raw_fits(
    kinds,
    X: np.ndarray,
    y: np.ndarray,
    household_pid: np.ndarray,
    feature_names: list[str],
    params: TrainParams,
    method: str,
) -> dict[str, RawFit]:
    """Each learned kind fitted for the isotonic calibrations: cross-fitted (five fits on four
    folds, one on every household) or on all but the held-back fifth. The ensemble is the
    log-odds average of its members' fits, made from them, not fitted again."""
    kinds = list(kinds)
    learned = [k for k in kinds if k not in ("baseline", ENSEMBLE)]
    if ENSEMBLE in kinds:
        learned += [m for m in MEMBERS if m not in learned]
    out: dict[str, RawFit] = {}
    if method == "crossfit":
        folds = household_folds(household_pid, params.crossfit_folds)
        everyone = np.ones(len(y), dtype=bool)
        # one case-control sample for the fold models and the final one (the same share without
        # a crisis): their log-odds share one offset, so the folds' map fits the final model's
        sample = fitting_sample(household_pid, y, params.max_negatives, everyone)
        for kind in learned:
            if kind == "gradient_boosting" and params.oof_stopping:  # stopping.py
                got = crossfit_stopped(
                    trees_at(X, y, feature_names, params),
                    X,
                    y,
                    folds,
                    sample,
                    params.max_iter,
                    LOGIT_MAX,
                    params.bagged_trees,
                    params.stopping,
                )
                out[kind] = RawFit(got[0], everyone, got[1], folds, oof_loss=got[2])
                continue
            logit = np.zeros(len(y))
            for f in range(params.crossfit_folds):
                held = folds == f
                if not held.any():
                    continue
                if y[~held].sum() == 0:  # nothing to learn from without this fold
                    logit[held] = 0.0
                    continue
                m = _fit_on(kind, X, y, feature_names, params, sample & ~held)
                logit[held] = raw_logit(m, X[held])
            model = _fit_on(kind, X, y, feature_names, params, sample)
            out[kind] = RawFit(model, everyone, logit, folds)
    else:
        cal = calibration_mask(household_pid, params.calibration_share)
        folds = household_folds(household_pid[cal], params.crossfit_folds)
        for kind in learned:
            model = _fit_rows(kind, X, y, household_pid, feature_names, params, ~cal)
            out[kind] = RawFit(model, cal, raw_logit(model, X[cal]), folds)
    if ENSEMBLE in kinds:
        out[ENSEMBLE] = ensemble_fit([out[m] for m in MEMBERS])
    return out


def ensemble_fit(members: list[RawFit]) -> RawFit:
    """The ensemble from its members' raw fits: their models' and their log-odds' average."""
    logit = np.mean([m.logit for m in members], axis=0)
    return RawFit(
        LogOddsAverage([m.model for m in members]), members[0].rows, logit, members[0].folds
    )


def min_block(households: int) -> int:
    """The fewest households a calibration step may rest on: 1 in 500 of them, at least 20."""
    return max(20, households // 500)


def calibrate(raw: RawFit, y: np.ndarray, method: str) -> IsotonicCalibrated:
    yc = y[raw.rows]
    kx, ky = isotonic_knots(raw.logit, yc, min_block(len(yc)))
    return IsotonicCalibrated(raw.model, kx, ky, method)


def calibration_check(raw: RawFit, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Honest calibrated probabilities for the households the map was fitted on: each fold's
    log-odds mapped by knots fitted on the other folds only. Returns (rows, probabilities) for
    the calibration plot of the model that publishes (hearth/modelling/evaluation/card.py)."""
    yc = y[raw.rows]
    p = np.zeros(len(yc))
    for f in np.unique(raw.folds):
        held = raw.folds == f
        kx, ky = isotonic_knots(raw.logit[~held], yc[~held], min_block(int((~held).sum())))
        p[held] = np.interp(raw.logit[held], kx, ky)
    return raw.rows, p


def fit_candidates(
    kinds,
    X: np.ndarray,
    y: np.ndarray,
    household_pid: np.ndarray,
    feature_names: list[str],
    params: TrainParams,
    checks: dict | None = None,
) -> dict[str, object]:
    """Every candidate in `kinds`, fitted and calibrated (the ensemble from its members' fits).
    `checks`, if given, receives each learned kind's `calibration_check`."""
    with fitting_threads(params):
        return _fit_candidates(kinds, X, y, household_pid, feature_names, params, checks)


def _fit_candidates(kinds, X, y, household_pid, feature_names, params, checks):
    method = calibration_method(params, len(y))
    out: dict[str, object] = {}
    if "baseline" in kinds:  # the baseline is its own calibration
        out["baseline"] = make_estimator("baseline", params, feature_names).fit(X, y)
    learned = [k for k in kinds if k != "baseline"]
    if not learned:
        return out
    if method == "sigmoid":
        for kind in learned:
            out[kind] = _fit_sigmoid(kind, X, y, household_pid, feature_names, params)
        return out
    raws = raw_fits(learned, X, y, household_pid, feature_names, params, method)
    return out | calibrated(learned, raws, y, method, checks)


def calibrated(learned, raws: dict[str, RawFit], y, method: str, checks) -> dict[str, object]:
    """Each learned kind's raw fit calibrated (the raw model when there is no crisis to
    calibrate by); `checks`, if given, receives each one's `calibration_check`."""
    out: dict[str, object] = {}
    for kind in learned:
        if y[raws[kind].rows].sum() == 0:  # no crisis to calibrate by: the raw model
            out[kind] = raws[kind].model
            continue
        out[kind] = calibrate(raws[kind], y, method)
        if checks is not None:
            checks[kind] = calibration_check(raws[kind], y)
    return out


def fit_candidate(
    kind: str,
    X: np.ndarray,
    y: np.ndarray,
    household_pid: np.ndarray,
    feature_names: list[str],
    params: TrainParams,
    checks: dict | None = None,
):
    """Fit one candidate and calibrate it (see the module's docstring)."""
    if kind not in CANDIDATES:
        make_estimator(kind, params, feature_names)  # the error naming the candidates
    return fit_candidates([kind], X, y, household_pid, feature_names, params, checks)[kind]


def _fit_sigmoid(kind, X, y, household_pid, feature_names, params):
    """Platt scaling on the held-back fifth (the ensemble: each member, then their average)."""
    if kind == ENSEMBLE:
        members = [_fit_sigmoid(m, X, y, household_pid, feature_names, params) for m in MEMBERS]
        return LogOddsAverage(members)
    cal = calibration_mask(household_pid, params.calibration_share)
    est = _fit_rows(kind, X, y, household_pid, feature_names, params, ~cal)
    if y[cal].sum() == 0:
        return est
    return CalibratedClassifierCV(FrozenEstimator(est), method="sigmoid").fit(X[cal], y[cal])


def inner_estimator(model):
    """The fitted model under its calibration, for explanations."""
    # by name too: a model loaded from the registry carries Hearth's classes pickled by value
    # (hearth/modelling/registry/portable.py), which are not these class objects
    if isinstance(model, IsotonicCalibrated) or type(model).__name__ == "IsotonicCalibrated":
        return model.estimator
    if isinstance(model, CalibratedClassifierCV):
        inner = model.calibrated_classifiers_[0].estimator
        return inner.estimator if isinstance(inner, FrozenEstimator) else inner
    return model
