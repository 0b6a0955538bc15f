"""The trees as the log-odds average of several fits that differ only in their random state
(`TrainParams.tree_seeds`; 1: one fit, as before).

With `max_features` below 1 each split of the gradient-boosted trees reads a random share of the
features, so two fits on the same households differ in which of two correlated records a split
chose; at 100,000 households one fit's ratio to the oracle at the top 1% moves by about 0.01
with that draw alone. The average of a few such fits keeps what they agree on. Member i is
fitted with random state `seed + i`, so member 0 is the one fit `tree_seeds` 1 gives, and
every fit of the trees (each fold model of the cross-fit, the final model, the judged trees of
`refit_iterations` "judged") is an average of the same members' settings.

The average is an `ensemble.LogOddsAverage` of the fitted trees, the class that already
explains (the mean of the members' shap values, which add up to its log-odds), scores and
travels in the registry; the functions here give the boosting's view of one: its log-odds
after each iteration (`staged_log_odds`), its count of iterations (`iterations`) and its first
n iterations (`cut`), for the out-of-fold stopping (hearth/modelling/training/stopping.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from hearth.modelling.training.ensemble import LogOddsAverage
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.whole_rates import whole_rates


def fit_trees(make: Callable[..., object], X, y, feature_names: list[str], params: TrainParams):
    """The trees (`make("gradient_boosting", params, feature_names)`, unfitted) fitted on the
    rows `X` (a copy: each rate is rounded to whole records in it, whole_rates.py) and `y`, once
    for each of `params.tree_seeds` random states from `params.seed` upward; one fit is returned
    as it is, several as their log-odds average."""
    if params.tree_seeds < 1:
        raise ValueError(
            f"tree_seeds is {params.tree_seeds}; the trees need at least one fit to average."
        )
    rows = whole_rates(X, feature_names)
    members = [
        make("gradient_boosting", replace(params, seed=params.seed + i), feature_names).fit(rows, y)
        for i in range(params.tree_seeds)
    ]
    return members[0] if len(members) == 1 else LogOddsAverage(members)


def _members(model) -> list | None:
    # by name too: a model loaded from the registry carries Hearth's classes pickled by value
    if isinstance(model, LogOddsAverage) or type(model).__name__ == "LogOddsAverage":
        return model.members
    return None


def staged_log_odds(model, X) -> Iterator[np.ndarray]:
    """The trees' log-odds for the rows of `X` after each boosting iteration: of an average,
    the mean of its members' after the same count (as many counts as its shortest member)."""
    members = _members(model)
    if members is None:
        yield from model.staged_decision_function(X)
        return
    for each in zip(*(staged_log_odds(m, X) for m in members), strict=False):
        yield np.mean(each, axis=0)


def iterations(model) -> int:
    """How many boosting iterations the trees hold (an average: its shortest member's)."""
    members = _members(model)
    if members is None:
        return int(model.n_iter_)
    return min(iterations(m) for m in members)


def cut(model, count: int):
    """Fitted trees cut to their first `count` boosting iterations: the model a fit with
    `max_iter=count` gives (the same data and random state, no early stopping, so the same bins
    and the same first trees), without fitting again; an average, each member cut."""
    members = _members(model)
    if members is not None:
        return LogOddsAverage([cut(m, count) for m in members])
    out = copy.copy(model)
    out._predictors = model._predictors[:count]  # n_iter_ is len(_predictors)
    out.max_iter = count
    return out
