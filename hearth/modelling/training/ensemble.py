"""The ensemble candidate: the average, in log-odds, of the calibrated logistic regression and
the calibrated gradient-boosted trees.

On a small area each candidate's ranking is noisy in its own way (the regression is steady but
misses interactions, the trees find them but chase chance), and their average is steadier
than either; picking one of them by a small difference on one validation year mostly picks
noise. Averaging log-odds rather than probabilities keeps each household's reasons additive.
With the isotonic calibrations (the default, hearth/modelling/training/fit.py) the members are raw
and the
average is calibrated once, by an increasing map: the reasons are the mean of the members'
contributions. With Platt scaling (`calibration: sigmoid`) each member is calibrated and the
ensemble's log-odds are the mean of theirs, each its own raw log-odds times its Platt slope,
plus a constant. Whether it is chosen over a simpler candidate is
hearth/modelling/training/choice.py's rule."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV

ENSEMBLE = "ensemble"
MEMBERS = ("logistic", "gradient_boosting")  # the candidates it averages


class LogOddsAverage(ClassifierMixin, BaseEstimator):
    """Already-fitted members; the score is the sigmoid of their mean log-odds. The ensemble's
    members are the regression and the trees; the bagged trees' are the cross-fit's fold models
    (hearth/modelling/training/stopping.py)."""

    def __init__(self, members: list | None = None):
        self.members = members

    @property
    def classes_(self) -> np.ndarray:
        return self.members[0].classes_

    def fit(self, X, y):  # the members are fitted by hearth/modelling/training/fit.py:fit_candidate
        return self

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def decision_function(self, X) -> np.ndarray:
        eps = 1e-12
        return np.mean(
            [logit(np.clip(m.predict_proba(X)[:, 1], eps, 1 - eps)) for m in self.members],
            axis=0,
        )

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def platt_slope(model) -> float:
    """How much one unit of the member's raw log-odds moves its calibrated log-odds."""
    if isinstance(model, CalibratedClassifierCV):
        # scikit-learn's sigmoid calibration is p = 1 / (1 + exp(a * f + b))
        return float(-model.calibrated_classifiers_[0].calibrators[0].a_)
    return 1.0
