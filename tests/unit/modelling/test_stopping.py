"""How many boosting iterations the trees keep and which trees score
(hearth/modelling/training/stopping.py, called by fit.py: raw_fits): the count with the lowest
log-loss over every household's out-of-fold score, and the fold models cut to it and averaged,
worked out here again from fold models fitted by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from hearth.features.catalogue import load_catalogue
from hearth.modelling.training.explain import explain
from hearth.modelling.training.fit import household_folds, raw_fits, raw_logit
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.stopping import (
    STOPPING,
    FoldFit,
    best_by_precision,
    best_iterations,
    crossfit_stopped,
    pooled,
    truncated,
)
from tests.unit.modelling.test_calibration import additive_world


def test_best_iterations_is_the_lowest_loss_and_the_fewest_trees_on_a_tie():
    assert best_iterations(np.array([5.0, 3.0, 2.0, 2.5, 4.0])) == 3
    assert best_iterations(np.array([5.0, 2.0, 2.0, 3.0])) == 2
    assert best_iterations(np.array([1.0, 2.0])) == 1


def test_the_trees_stop_where_the_out_of_fold_loss_is_lowest():
    # the records the world's risk rides on, and some that carry none: a quick fit
    keep = ("ae_respiratory", "domestic_abuse", "asb", "ae_other")
    names = [n for n in load_catalogue().usable_names(12) if n.startswith(keep)]
    frame, y, _ = additive_world(5, 3000)
    X, pids = frame.select(names).to_numpy().astype(np.float32), frame["household_pid"].to_numpy()
    # a high learning rate on 3,000 households over-fits within 40 iterations
    params = TrainParams(
        max_iter=40, learning_rate=0.5, min_samples_leaf=20, max_leaf_nodes=8, bagged_trees=True
    )
    got = raw_fits(["gradient_boosting"], X, y, pids, names, params, "crossfit")[
        "gradient_boosting"
    ]
    # the loss worked out again: each fold left out in turn, scored after every iteration
    folds = household_folds(pids, params.crossfit_folds)
    loss, staged, everyone = np.zeros(params.max_iter), {}, {}
    for f in range(params.crossfit_folds):
        held = folds == f
        m = HistGradientBoostingClassifier(
            max_iter=params.max_iter,
            learning_rate=params.learning_rate,
            max_leaf_nodes=params.max_leaf_nodes,
            min_samples_leaf=params.min_samples_leaf,
            l2_regularization=params.l2_regularization,
            max_features=params.max_features,
            monotonic_cst=load_catalogue().monotone_constraints(names),
            early_stopping=False,
            random_state=params.seed,
        ).fit(X[~held], y[~held])
        staged[f] = list(m.staged_decision_function(X[held]))
        everyone[f] = list(m.staged_decision_function(X))
        for i, z in enumerate(staged[f]):
            loss[i] += np.sum(np.logaddexp(0.0, z) - y[held] * z)
    assert np.allclose(got.oof_loss, loss)
    best = int(np.argmin(loss)) + 1
    assert 1 < best < params.max_iter  # it did over-fit: fewer trees were kept
    # the calibration is fitted on the out-of-fold scores of the model it calibrates
    for f in range(params.crossfit_folds):
        assert np.allclose(got.logit[folds == f], staged[f][best - 1])
    # the trees that score (bagged_trees): the five fold models cut to the kept
    # iterations, their log-odds averaged, on every household
    assert [m.n_iter_ for m in got.model.members] == [best] * params.crossfit_folds
    bag = np.mean([everyone[f][best - 1] for f in range(params.crossfit_folds)], axis=0)
    assert np.allclose(got.model.decision_function(X), bag, atol=1e-6)
    assert np.allclose(raw_logit(got.model, X), bag, atol=1e-6)
    # its reasons add up to its own log-odds: shap reads the cut trees, not the grown ones
    import shap

    base = np.mean([np.ravel(shap.TreeExplainer(m).expected_value)[0] for m in got.model.members])
    contrib = explain(got.model, X[:40])
    assert np.allclose(contrib.sum(axis=1) + base, bag[:40], atol=1e-5)
    # not bagged (the default): one model fitted on every household with the kept iterations
    assert TrainParams().bagged_trees is False
    one = raw_fits(
        ["gradient_boosting"], X, y, pids, names, replace(params, bagged_trees=False), "crossfit"
    )["gradient_boosting"]
    assert one.model.n_iter_ == best and np.allclose(one.logit, got.logit)
    # without stopping, every iteration is kept (and no loss is recorded)
    off = raw_fits(
        ["gradient_boosting"], X, y, pids, names, replace(params, oof_stopping=False), "crossfit"
    )["gradient_boosting"]
    assert off.model.n_iter_ == params.max_iter and off.oof_loss is None
    # stopping by the out-of-fold average precision: the count whose pooled out-of-fold scores
    # rank the crises best, worked out again from the same fold models
    from sklearn.metrics import average_precision_score

    pooled = np.zeros((len(y), params.max_iter))
    for f in range(params.crossfit_folds):
        pooled[folds == f] = np.array(staged[f]).T
    ap = [average_precision_score(y, pooled[:, i]) for i in range(params.max_iter)]
    by_ap = raw_fits(
        ["gradient_boosting"],
        X,
        y,
        pids,
        names,
        replace(params, bagged_trees=False, stopping="average_precision"),
        "crossfit",
    )["gradient_boosting"]
    assert by_ap.model.n_iter_ == int(np.argmax(ap)) + 1
    assert np.allclose(by_ap.oof_loss, loss)  # the loss is still recorded


def test_average_precision_keeps_the_best_ranking_and_the_fewest_trees_on_a_tie():
    y = np.array([1, 0, 1, 0])
    # after 1 iteration the crises rank 1st and 3rd; after 2 and 3, 1st and 2nd; NaN: not judged
    staged = np.array(
        [[0.9, 0.9, 0.9], [0.8, 0.1, 0.1], [0.7, 0.8, 0.8], [0.1, 0.2, 0.2], [np.nan] * 3]
    )
    assert best_by_precision(staged, np.append(y, 1)) == 2
    with pytest.raises(ValueError, match="Unknown stopping 'auc'"):
        crossfit_stopped(None, np.zeros((4, 1)), y, np.zeros(4), np.ones(4, bool), 3, 5.0, by="auc")


def test_trees_cut_to_n_iterations_are_the_trees_fitted_with_n():
    frame, y, _ = additive_world(6, 2000)
    names = [n for n in load_catalogue().usable_names(12) if n.startswith("ae_")][:12]
    X = frame.select(names).to_numpy().astype(np.float32)

    def trees(n: int) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=n,
            learning_rate=0.3,
            max_leaf_nodes=6,
            max_features=0.5,  # the subsampling draws of the first iterations are the same too
            early_stopping=False,
            random_state=0,
        ).fit(X, y)

    grown = trees(30)
    cut = truncated(grown, 17)
    assert cut.n_iter_ == 17 and grown.n_iter_ == 30  # the grown model is left as it was
    assert np.array_equal(cut.predict_proba(X), trees(17).predict_proba(X))
    assert not np.allclose(cut.decision_function(X), grown.decision_function(X))


class _Trees:
    """A stand-in for fitted trees: its log-odds are its count of iterations."""

    def __init__(self, n: int):
        self._predictors, self.max_iter = list(range(n)), n

    @property
    def n_iter_(self) -> int:
        return len(self._predictors)

    def decision_function(self, X):
        return np.full(len(X), float(self.n_iter_))


def test_the_folds_fitted_apart_are_pooled_by_their_losses_summed_not_any_one_folds():
    """`pooled` (a partnership's step after the fold steps): the kept count is the lowest of
    the folds' losses summed (fold 0 alone would keep 2, fold 1 alone 3: together 1), each
    fold's model cut to it scores its own fold, and the model that scores is fitted at it; a
    fold with nothing to learn from (None) adds nothing and scores nothing."""
    folds, y, X = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 0]), np.zeros((4, 1))
    fitted: list[tuple[np.ndarray, int]] = []

    def fit(rows, n):
        fitted.append((rows, n))
        return _Trees(n)

    one = FoldFit(_Trees(3), np.array([1.0, 0.0, 5.0]))
    other = FoldFit(_Trees(3), np.array([1.0, 3.0, 0.0]))
    sample = np.array([True, True, False, True])
    model, logit, loss = pooled(fit, X, y, folds, sample, [one, other], 3, 5.0)
    assert list(loss) == [2.0, 3.0, 5.0]
    assert model.n_iter_ == 1 and list(logit) == [1.0] * 4
    assert [n for _, n in fitted] == [1] and list(fitted[0][0]) == list(sample)
    model, logit, loss = pooled(fit, X, y, folds, sample, [one, None], 3, 5.0)
    assert model.n_iter_ == 2 and list(logit) == [2.0, 2.0, 0.0, 0.0]
    # clipped as the cross-fit clips them
    assert list(pooled(fit, X, y, folds, sample, [one, other], 3, 0.5)[1]) == [0.5] * 4


def test_the_pooled_average_precision_puts_each_folds_scores_on_its_own_households():
    """By average precision, each fold's scores of its judged households go back to those
    households before the ranking is judged: after 2 iterations the crises (households 0 and
    3, in different folds) rank first, after 1 nothing is ranked."""
    folds, y, X = np.array([0, 1, 0, 1]), np.array([1, 0, 0, 1]), np.zeros((4, 1))
    staged0 = np.array([[0.0, 1.0], [0.0, 0.0]], dtype=np.float32)  # households 0 and 2
    staged1 = np.array([[0.0, 0.0], [0.0, 1.0]], dtype=np.float32)  # households 1 and 3
    fits = [FoldFit(_Trees(2), np.zeros(2), staged0), FoldFit(_Trees(2), np.zeros(2), staged1)]
    sample = np.ones(4, dtype=bool)
    model, _, _ = pooled(lambda r, n: _Trees(n), X, y, folds, sample, fits, 2, 5.0, by=STOPPING[1])
    assert model.n_iter_ == 2
    swapped = [FoldFit(_Trees(2), np.zeros(2), s) for s in (staged1, staged0)]
    model, _, _ = pooled(
        lambda r, n: _Trees(n), X, y, folds, sample, swapped, 2, 5.0, by=STOPPING[1]
    )
    assert model.n_iter_ == 1
