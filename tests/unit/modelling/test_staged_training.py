"""The partnership model's fits as units fitted apart (hearth/modelling/training/units.py,
staged.py) make the very models the recipe makes in one call: each unit fitted on its own and
read back from a pickle, as a step of its own hands it on, then put together, gives every
candidate value for value as `fit_candidates` does; the value-of-sharing rows fitted in two
groups give `value_of_sharing`'s table. (The whole partnership run, in steps and in one call:
tests/e2e/test_partnership_runs.py.)"""

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
from hearth.modelling.training.units import fit_unit, fit_units, fitted_from_units
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
    units = {
        u: _handed_on(fit_unit(u, X, train.y, train.pids, names, params)) for u in fit_units(KINDS)
    }
    apart_checks: dict = {}
    apart = fitted_from_units(KINDS, units, lambda: X, train.y, names, params, apart_checks)
    assert list(apart) == list(at_once) == KINDS
    for kind in KINDS:
        assert differences(at_once[kind], apart[kind], kind) == []
    assert differences(checks, apart_checks, "checks") == []
    assert (calibration == "sigmoid") == (not checks)  # the isotonic ones are checked


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
