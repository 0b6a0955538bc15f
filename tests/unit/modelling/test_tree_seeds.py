"""The trees as the log-odds average of several fits that differ only in their random state
(hearth/modelling/training/tree_seeds.py, `TrainParams.tree_seeds`): each member worked out
again from trees fitted by hand with random states `seed`, `seed + 1`, ..., and the out-of-fold
stopping, the cut and the reasons of an average read from its members."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from hearth.features.catalogue import load_catalogue
from hearth.modelling.training.ensemble import LogOddsAverage
from hearth.modelling.training.explain import explain
from hearth.modelling.training.fit import household_folds, make_estimator, raw_fits, raw_logit
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.tree_seeds import cut, fit_trees, iterations, staged_log_odds
from tests.unit.modelling.test_calibration import additive_world

KEEP = ("ae_respiratory", "domestic_abuse", "asb", "ae_other")
# a high learning rate on 3,000 households over-fits within 30 iterations; half the features per
# split, so the random states draw other features
PARAMS = TrainParams(
    max_iter=30, learning_rate=0.5, min_samples_leaf=20, max_leaf_nodes=8, max_features=0.5
)


@pytest.fixture(scope="module")
def world():
    names = [n for n in load_catalogue().usable_names(12) if n.startswith(KEEP)]
    frame, y, _ = additive_world(5, 3000)
    X = frame.select(names).to_numpy().astype(np.float32)
    return X, y, frame["household_pid"].to_numpy(), names


def _by_hand(X, y, names, params, random_state, n=None):
    return HistGradientBoostingClassifier(
        max_iter=n or params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        max_features=params.max_features,
        monotonic_cst=load_catalogue().monotone_constraints(names),
        early_stopping=False,
        random_state=random_state,
    ).fit(X, y)


def test_the_trees_are_one_fit_per_random_state_from_the_seed_up_averaged(world):
    X, y, _, names = world
    params = replace(PARAMS, tree_seeds=3, seed=7)
    got = fit_trees(make_estimator, X.copy(), y, names, params)
    assert isinstance(got, LogOddsAverage) and len(got.members) == 3
    hand = [_by_hand(X, y, names, params, s) for s in (7, 8, 9)]
    for member, m in zip(got.members, hand, strict=True):
        assert member.random_state == m.random_state
        assert np.array_equal(member.decision_function(X), m.decision_function(X))
    mean = np.mean([m.decision_function(X) for m in hand], axis=0)
    assert np.allclose(got.decision_function(X), mean, atol=1e-6)
    # the random states draw other features: the members differ, so the average is not any one
    assert not np.allclose(hand[0].decision_function(X), hand[1].decision_function(X))
    # one fit (the default) is the bare trees of the seed, as before there were several
    assert TrainParams().tree_seeds == 1
    one = fit_trees(make_estimator, X.copy(), y, names, replace(params, tree_seeds=1))
    assert isinstance(one, HistGradientBoostingClassifier)
    assert np.array_equal(one.decision_function(X), hand[0].decision_function(X))
    with pytest.raises(ValueError, match="tree_seeds is 0; the trees need at least one fit"):
        fit_trees(make_estimator, X.copy(), y, names, replace(params, tree_seeds=0))


def test_an_average_is_staged_cut_and_counted_as_its_members(world):
    X, y, _, names = world
    avg = LogOddsAverage([_by_hand(X, y, names, PARAMS, s) for s in (0, 1)])
    avg.members[1] = cut(avg.members[1], 25)  # a shorter member: the average has its count
    assert iterations(avg) == 25 and iterations(avg.members[0]) == 30
    staged = list(staged_log_odds(avg, X))
    assert len(staged) == 25
    first = list(avg.members[0].staged_decision_function(X))
    second = list(avg.members[1].staged_decision_function(X))
    for i in (0, 11, 24):
        assert np.allclose(staged[i], (first[i] + second[i]) / 2)
    cut12 = cut(avg, 12)
    assert [m.n_iter_ for m in cut12.members] == [12, 12] and iterations(avg) == 25
    twelve = [_by_hand(X, y, names, PARAMS, s, n=12) for s in (0, 1)]
    mean = np.mean([m.decision_function(X) for m in twelve], axis=0)
    assert np.allclose(cut12.decision_function(X), mean, atol=1e-6)
    assert np.allclose(staged[11], mean, atol=1e-6)


def test_the_fold_models_and_the_final_model_are_averages_and_stop_on_their_loss(world):
    X, y, pids, names = world
    params = replace(PARAMS, tree_seeds=2)
    got = raw_fits(["gradient_boosting"], X, y, pids, names, params, "crossfit")
    got = got["gradient_boosting"]
    folds = household_folds(pids, params.crossfit_folds)
    loss, staged = np.zeros(params.max_iter), {}
    for f in range(params.crossfit_folds):
        held = folds == f
        pair = [_by_hand(X[~held], y[~held], names, params, s) for s in (0, 1)]
        runs = [list(m.staged_decision_function(X[held])) for m in pair]
        staged[f] = [(a + b) / 2 for a, b in zip(*runs, strict=True)]
        for i, z in enumerate(staged[f]):
            loss[i] += np.sum(np.logaddexp(0.0, z) - y[held] * z)
    assert np.allclose(got.oof_loss, loss)
    best = int(np.argmin(loss)) + 1
    assert 1 < best < params.max_iter
    for f in range(params.crossfit_folds):
        assert np.allclose(got.logit[folds == f], staged[f][best - 1], atol=1e-6)
    # the model that scores: two fits on every household at the kept count, averaged
    assert [m.n_iter_ for m in got.model.members] == [best, best]
    final = np.mean(
        [_by_hand(X, y, names, params, s, n=best).decision_function(X) for s in (0, 1)], axis=0
    )
    assert np.allclose(raw_logit(got.model, X), final, atol=1e-6)
    # its reasons are its members' mean and add up to its log-odds
    import shap

    base = np.mean([np.ravel(shap.TreeExplainer(m).expected_value)[0] for m in got.model.members])
    assert np.allclose(explain(got.model, X[:40]).sum(axis=1) + base, final[:40], atol=1e-5)
