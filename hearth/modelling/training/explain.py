"""Each feature's contribution to a candidate's log-odds, for whichever candidate it is: the
reasons on the list (hearth/modelling/scoring/score.py) and the global feature importance logged
with every
version (hearth/modelling/registry/run_log.py) both come from here, so neither can explain one kind
of model and
not another.

- the trees: shap's TreeExplainer values; the logistic regression (Hearth's pipeline or a bare
  linear model): its exact linear terms;
  the contact-count baseline: each counted column's own count (its score is their sum);
- a calibrated model: its inner model's contributions (an increasing map of the log-odds
  keeps which features raise the risk and by how much against each other);
- the ensemble: the mean of its members' contributions, each scaled by how much its log-odds
  move the calibrated log-odds (1 for raw members under one calibration of the average)."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from hearth.modelling.scoring.reasons import contributions
from hearth.modelling.training.baseline import ContactCountBaseline
from hearth.modelling.training.ensemble import LogOddsAverage, platt_slope
from hearth.modelling.training.fit import inner_estimator


def explain(model, X: np.ndarray) -> np.ndarray:
    """Per-row, per-feature contributions to the model's log-odds."""
    inner = inner_estimator(model)
    # by name too: Hearth's classes in a model loaded from the registry were pickled by value
    kind = type(inner).__name__
    if isinstance(inner, LogOddsAverage) or kind == "LogOddsAverage":
        return np.mean(
            [platt_slope(m) * explain(m, X) for m in inner.members],
            axis=0,
        )
    if np.ndim(getattr(inner, "coef_", None)) == 2:  # a bare linear model: its exact terms
        return np.asarray(X, dtype=float) * inner.coef_[0]
    known = isinstance(inner, HistGradientBoostingClassifier | Pipeline | ContactCountBaseline)
    if not (known or kind == "ContactCountBaseline"):
        # never a row of zeros for a kind it does not know (feature_importance.csv was all
        # zeros for the ensemble that way)
        raise TypeError(f"No explanation for a {type(inner).__name__} model.")
    return contributions(inner, X)


def importance(model, X: np.ndarray) -> np.ndarray:
    """Each feature's mean absolute contribution over the rows of X."""
    return np.abs(explain(model, X)).mean(axis=0)
