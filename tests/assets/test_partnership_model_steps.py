"""The partnership model's steps in the partnership's Dagster job (hearth/defs/operations/
partnership.py): the trees' cross-fit fanned out as a step per fold, the choice once every fold
has ended (it pools them), the chosen trees' refit a step per fold and then a step that pools
them, which the executor starts before the value-of-sharing refits (their priority), and the
registration once both are done. The model's work itself is replaced here by records of the
calls (what each stage computes is tests/unit/modelling/test_staged_training.py's; the whole
run, multiprocess, tests/e2e/test_partnership_runs.py)."""

from __future__ import annotations

import time

import dagster as dg
import pytest

from hearth.defs.operations import partnership as job_module
from hearth.defs.resources import LandingResource
from hearth.operations import partnership as p
from hearth.operations import partnership_model as pm

FOLDS = [f"candidate_gradient_boosting_fold_{f}" for f in range(5)]
REFIT_FOLDS = [f"refit_gradient_boosting_fold_{f}" for f in range(5)]
SHARING = ["sharing_0", "sharing_1"]


@pytest.fixture
def calls(hearth_home, monkeypatch):
    """The job's calls into the partnership's logic, recorded in the order the steps made them;
    the model's stages answer with the units a training in folds would give."""
    made: list[tuple[str, str]] = []
    rule = pm.Completeness("2026-01", None, True, [], {}, 1.0)
    units = {"refit": REFIT_FOLDS, "sharing": SHARING}

    def begin(rule, retrain, train, work, say):
        made.append(("begin", ""))
        return pm.ModelTraining(rule, work=str(work)), ["candidate_logistic", *FOLDS]

    def choose(training, say):
        made.append(("choose", ""))
        return list(units["refit"]), list(units["sharing"])

    def finish(training, say):
        made.append(("finish", ""))
        return pm.PartnershipModel(True, rule, None, trained_version="1")

    plan = p.PartnershipPlan((), (), time.time())
    monkeypatch.setattr(p, "plan_partnership", lambda *a, **k: plan)
    monkeypatch.setattr(p, "partnership_model_rule", lambda *a, **k: (rule, True))
    monkeypatch.setattr(p, "write_summary", lambda *a, **k: [])
    monkeypatch.setattr(pm, "begin_partnership_model", begin)
    monkeypatch.setattr(pm, "fit_partnership_unit", lambda t, u, say: made.append(("fit", u)))
    monkeypatch.setattr(pm, "choose_partnership_model", choose)
    monkeypatch.setattr(pm, "pool_partnership_refit", lambda t, say: made.append(("pool", "")))
    monkeypatch.setattr(pm, "finish_partnership_model", finish)
    return made, units


def _run() -> dg.ExecuteInProcessResult:
    return job_module.hearth_partnership.execute_in_process(
        resources={"landing": LandingResource()}, raise_on_error=False
    )


def _ended(result: dg.ExecuteInProcessResult) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"]


def test_the_trees_folds_are_steps_and_the_refit_is_pooled_before_the_sharing_refits(calls):
    made, _ = calls
    result = _run()
    assert result.success
    ended = _ended(result)
    # a step per fold of the trees' cross-fit, beside the regression's
    candidates = [k for k in ended if k.startswith("partnership_model_candidate[")]
    expected = [f"partnership_model_candidate[{u}]" for u in ["candidate_logistic", *FOLDS]]
    assert sorted(candidates) == sorted(expected)
    # the choice (which pools the folds) after every fold; the refit's folds, each a step,
    # then the step that pools them, both before the sharing refits (priority), and the
    # registration after all of them
    fits = [u for what, u in made if what == "fit"]
    assert sorted(fits[:6]) == sorted(["candidate_logistic", *FOLDS])
    assert [w for w, _ in made] == ["begin", *["fit"] * 6, "choose", *["fit"] * 5, "pool"] + [
        "fit",
        "fit",
        "finish",
    ]
    assert fits[6:11] == REFIT_FOLDS and fits[11:] == SHARING
    refit = [k for k in ended if k.startswith(("partnership_model_fit[", "partnership_model_re"))]
    assert refit == [f"partnership_model_fit[{u}]" for u in REFIT_FOLDS] + [
        "partnership_model_refit",
        "partnership_model_registered",
    ]
    sharing = [k for k in ended if k.startswith("partnership_model_sharing[")]
    assert sharing == [f"partnership_model_sharing[{u}]" for u in SHARING]
    assert ended.index("partnership_model_refit") < ended.index(sharing[0])
    assert result.output_for_node("partnership_model_refit") == REFIT_FOLDS


def test_a_model_with_no_refit_still_pools_nothing_and_registers(calls):
    """The gate refused the judged model (or T-12 has no crisis): no refit's steps, the
    pooling step given no fold, the sharing refits and the registration as ever."""
    made, units = calls
    units["refit"] = []
    result = _run()
    assert result.success
    assert [w for w, _ in made][-4:] == ["pool", "fit", "fit", "finish"]
    assert result.output_for_node("partnership_model_refit") == []
    assert not any(k.startswith("partnership_model_fit[") for k in _ended(result))
