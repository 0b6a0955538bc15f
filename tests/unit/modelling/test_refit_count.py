"""The refit's iterations taken from the judged trees' year (TrainParams.refit_iterations
"judged", hearth/modelling/training/refit_count.py): the count whose ranking of the validation
year was best, worked out here again from trees fitted by hand, and the refit grown to it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import average_precision_score

from hearth.features.catalogue import load_catalogue
from hearth.modelling.training.fit import inner_estimator, make_estimator
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.refit_count import judged_count, refit_count
from hearth.modelling.training.selection import (
    Window,
    refit_on_latest,
    refit_params,
    train_and_evaluate,
)
from hearth.modelling.training.whole_rates import whole_rates
from tests.unit.modelling.test_calibration import additive_world

KEEP = ("ae_respiratory", "domestic_abuse", "asb", "ae_other")
# a high learning rate on 3,000 households over-fits within 40 iterations: the best count is
# well inside them
PARAMS = TrainParams(
    max_iter=40,
    learning_rate=0.5,
    min_samples_leaf=20,
    max_leaf_nodes=8,
    crises_per_leaf=0,
    candidates=("gradient_boosting",),
    value_of_sharing=False,
    refit_iterations="judged",
)


@pytest.fixture(scope="module")
def world():
    names = [n for n in load_catalogue().usable_names(12) if n.startswith(KEEP)]
    windows = []
    for seed, as_of in ((5, "2024-01-01"), (6, "2025-01-01"), (7, "2026-01-01")):
        frame, y, _ = additive_world(seed, 3000)
        frame = frame.with_columns(pl.lit(None, pl.String).alias("ethnic_group"))  # fairness
        windows.append(Window(as_of, frame, y))
    return names, windows


def test_the_count_is_the_judged_trees_best_ranking_of_the_validation_year(world):
    names, (train, valid, _) = world
    X = train.X(names)
    got = judged_count(X, train.y, train.pids, names, valid, PARAMS)
    # worked out again: the trees fitted on every training household (rates in whole records),
    # the validation year's average precision after every iteration, the fewest on a tie
    est = make_estimator("gradient_boosting", PARAMS, names).fit(
        whole_rates(X.copy(), names), train.y
    )
    ap = [average_precision_score(valid.y, z) for z in est.staged_decision_function(valid.X(names))]
    assert got == int(np.argmax(ap)) + 1
    assert 1 < got < PARAMS.max_iter, got  # a count the world chose, not an end of the range


def test_the_refit_grows_the_judged_count_and_its_own_rule_otherwise(world):
    names, (train, valid, latest) = world
    cat = load_catalogue()
    result = train_and_evaluate(train, valid, cat, PARAMS, fixed_k=30, sharing=False, names=names)
    assert result.refit_iterations == judged_count(
        train.X(names), train.y, train.pids, names, valid, PARAMS
    )
    refit = refit_on_latest(result, latest, names, PARAMS, 24)
    assert inner_estimator(refit.model).n_iter_ == result.refit_iterations
    own = replace(PARAMS, refit_iterations="own")
    assert judged_count(train.X(names), train.y, train.pids, names, valid, own) is None
    assert refit_count(own, None) is own
    assert refit_count(own, 7) == replace(own, max_iter=7, oof_stopping=False)
    # the partnership's stages size the refit by the same call (staged.py: Plan.refit_count)
    sized = own.sized(int(latest.y.sum()), len(latest.y))
    assert refit_params(latest, own, 7) == replace(sized, max_iter=7, oof_stopping=False)
    assert refit_params(latest, own) == sized


def test_an_unknown_rule_is_refused_in_words(world):
    names, (train, valid, _) = world
    with pytest.raises(ValueError, match="Unknown refit_iterations 'best'; choose from own"):
        judged_count(
            train.X(names),
            train.y,
            train.pids,
            names,
            valid,
            replace(PARAMS, refit_iterations="best"),
        )
