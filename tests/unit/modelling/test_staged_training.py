"""The partnership model's fits as units fitted apart (hearth/modelling/training/units.py,
staged.py) make the very models the recipe makes in one call: each unit fitted on its own and
read back from a pickle, as a step of its own hands it on, then put together, gives every
candidate value for value as `fit_candidates` does; the trees' cross-fit as five fold units
fitted apart and pooled gives the trees `fit_unit` fits in one call; the value-of-sharing rows
fitted in two groups give `value_of_sharing`'s table. (The whole partnership run, in steps and
in one call: tests/e2e/test_partnership_runs.py.)"""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest
from polars.testing import assert_frame_equal

from hearth.features.catalogue import load_catalogue
from hearth.modelling.evaluation.sharing_refits import (
    sharing_fit,
    sharing_plan,
    sharing_table,
    value_of_sharing,
)
from hearth.modelling.training.fit import fit_candidates
from hearth.modelling.training.units import (
    fit_fold,
    fit_unit,
    fit_units,
    fitted_from_units,
    fold_units,
    pool_folds,
    split_fold,
)
from tests.support.model_compare import differences
from tests.unit.modelling.test_training import SMALL, window

KINDS = ["baseline", "logistic", "gradient_boosting", "ensemble"]


def _handed_on(value):
    return pickle.loads(pickle.dumps(value))


@pytest.fixture(scope="module")
def data():
    cat = load_catalogue()
    names = cat.usable_names(12)
    train, valid = window("2024-01", 1), window("2025-01", 2)
    return cat, names, train, valid


@pytest.mark.parametrize("calibration", ["crossfit", "isotonic", "sigmoid"])
def test_candidates_fitted_as_units_apart_are_the_candidates_fitted_at_once(data, calibration):
    _, names, train, _ = data
    params = replace(SMALL, candidates=tuple(KINDS), calibration=calibration)
    X = train.X(names)
    checks: dict = {}
    at_once = fit_candidates(KINDS, X, train.y, train.pids, names, params, checks)
    assert fit_units(KINDS) == ["logistic", "gradient_boosting"]  # the ensemble from them
    # the units as the steps fit them: the trees' cross-fit a unit per fold, then pooled
    steps = fold_units(KINDS, params, len(train.y))
    folds = [f"gradient_boosting_fold_{f}" for f in range(5)]
    assert steps == ["logistic", *folds] if calibration == "crossfit" else fit_units(KINDS)
    units, in_folds = {}, {}
    for unit in steps:
        kind, fold = split_fold(unit)
        if fold is None:
            units[kind] = _handed_on(fit_unit(kind, X, train.y, train.pids, names, params))
        else:
            in_folds[fold] = _handed_on(fit_fold(kind, fold, X, train.y, train.pids, names, params))
    if in_folds:
        units["gradient_boosting"] = pool_folds(
            "gradient_boosting", in_folds, X, train.y, train.pids, names, params
        )
    apart_checks: dict = {}
    apart = fitted_from_units(KINDS, units, lambda: X, train.y, names, params, apart_checks)
    assert list(apart) == list(at_once) == KINDS
    for kind in KINDS:
        assert differences(at_once[kind], apart[kind], kind) == []
    assert differences(checks, apart_checks, "checks") == []
    assert (calibration == "sigmoid") == (not checks)  # the isotonic ones are checked


@pytest.mark.parametrize(
    ("stopping", "bagged", "seeds"),
    [
        ("log_loss", False, 1),
        ("average_precision", False, 1),
        ("log_loss", True, 1),
        ("log_loss", False, 2),
        ("log_loss", True, 2),
    ],
)
def test_the_trees_folds_fitted_apart_and_pooled_are_the_trees_fitted_in_one_call(
    data, stopping, bagged, seeds
):
    """Each fold in a step of its own, read back from a pickle, then pooled (the kept count,
    the out-of-fold log-odds, the trees at the count or the fold models averaged; with
    `tree_seeds` each of them the average of that many fits): the very `RawFit` the one-call
    cross-fit makes, its out-of-fold losses included."""
    _, names, train, _ = data
    params = replace(SMALL, stopping=stopping, bagged_trees=bagged, tree_seeds=seeds)
    X, y, pids = train.X(names), train.y, train.pids
    at_once = fit_unit("gradient_boosting", X, y, pids, names, params)
    fits = {
        f: _handed_on(fit_fold("gradient_boosting", f, X, y, pids, names, params)) for f in range(5)
    }
    apart = pool_folds("gradient_boosting", fits, X, y, pids, names, params)
    assert differences(at_once, apart, "trees") == []
    assert at_once.oof_loss is not None
    # not blind: one fold's fit from other settings makes another fit
    slower = replace(params, learning_rate=params.learning_rate / 2)
    changed = fits | {0: fit_fold("gradient_boosting", 0, X, y, pids, names, slower)}
    other = pool_folds("gradient_boosting", changed, X, y, pids, names, params)
    assert differences(at_once, other, "trees") != []


def test_a_fit_not_in_folds_is_fitted_whole_and_a_fold_of_it_is_refused(data):
    """Above `crossfit_max_households` (a held-back fifth calibrates) or without out-of-fold
    stopping, the trees are one unit; asking for a fold of them is an error in words."""
    _, names, train, _ = data
    small = replace(SMALL, crossfit_max_households=len(train.y) - 1)
    assert fold_units(KINDS, small, len(train.y)) == fit_units(KINDS)
    assert fold_units(KINDS, replace(SMALL, oof_stopping=False), len(train.y)) == fit_units(KINDS)
    with pytest.raises(ValueError, match="is not fitted in folds"):
        fit_fold("gradient_boosting", 0, train.X(names), train.y, train.pids, names, small)


def test_a_unit_fitted_differently_is_told_apart(data):
    """The comparison is not blind: trees with one iteration fewer are another model."""
    _, names, train, _ = data
    X = train.X(names)
    one = fit_unit("gradient_boosting", X, train.y, train.pids, names, SMALL)
    fewer = fit_unit(
        "gradient_boosting", X, train.y, train.pids, names, replace(SMALL, max_iter=19)
    )
    assert differences(one, _handed_on(one)) == []
    assert differences(one, fewer) != []


def test_sharing_rows_fitted_in_groups_apart_make_the_same_table(data):
    cat, names, train, valid = data
    kind, metrics = "gradient_boosting", {"precision_at_1pct": 0.5, "precision_at_5pct": 0.3,
                                          "recall_at_1pct": 0.1}  # fmt: skip
    at_once = value_of_sharing(train, valid, cat, SMALL, 50, lambda _: None, names, kind, metrics)
    plan = _handed_on(sharing_plan(train, cat, SMALL))
    fits: dict = {}
    for group in range(2):  # as staged.py deals the rows to two steps
        rows = range(group, len(plan.sets), 2)
        fits |= _handed_on({r: sharing_fit(plan, r, train, valid, cat, names, kind) for r in rows})
    model = (names, len(train.y), metrics, None)
    table = sharing_table(plan, [fits[r] for r in range(len(plan.sets))], valid, model, 50, print)
    assert_frame_equal(at_once, table)
    assert table.height == 1 + sum(f is not None for f in fits.values())


def test_the_stages_hand_on_whole_files_and_say_what_is_missing(tmp_path):
    from hearth.modelling.training.staged import Work

    work = Work(tmp_path / "model_work" / "run")
    work.put("plan", {"names": ["a", "b"]})
    assert work.get("plan") == {"names": ["a", "b"]}
    assert [p.name for p in work.folder.iterdir()] == ["plan.pickle"]  # no temporary left
    with pytest.raises(FileNotFoundError, match="stage that writes it has not run"):
        work.get("judged")
    work.clear()
    assert not work.folder.exists()


def test_the_refits_folds_fitted_as_stages_and_pooled_are_the_refit_fitted_whole(data, tmp_path):
    """staged.py's refit of the chosen trees: each fold unit fitted by `fit` (as its step
    fits it), `pool_refit` writing the whole unit `finish` reads: the very fit `fit_unit`
    makes on T-12 with the refit's parameters; a refit not in folds is left as fitted."""
    from hearth.modelling.training import staged
    from hearth.modelling.training.selection import refit_params

    _, names, _, latest = data
    work = staged.Work(tmp_path / "work")
    kind = "gradient_boosting"
    params = refit_params(latest, SMALL)
    units = tuple(f"{staged.REFIT}{u}" for u in fold_units([kind], params, len(latest.y)))
    assert units == tuple(f"refit_gradient_boosting_fold_{f}" for f in range(5))
    plan = staged.Plan(SMALL, SMALL, KINDS, names, 50, kind=kind, refits=units)
    work.put("plan", plan)
    work.put("latest", (latest, names, 12))
    for unit in units:
        staged.fit(work, unit)
    staged.pool_refit(work)
    whole = fit_unit(kind, latest.X(names), latest.y, latest.pids, names, params)
    assert differences(whole, work.get("refit_gradient_boosting"), "refit") == []
    # the logistic regression's refit is one unit, fitted whole: nothing to pool
    work.put("plan", staged.Plan(SMALL, SMALL, KINDS, names, 50, "logistic", refits=("x",)))
    staged.pool_refit(work)
    assert not (work.folder / "refit_logistic.pickle").exists()
