"""How the recipe is chosen on a small area: by average precision over the whole validation
window (not the few households of its top 1%) with its uncertainty, simplest first, the
contact-count baseline when nothing beats it; the log-odds ensemble as a candidate, feature
importance for every candidate, trees sized to the crises there were, and monotone
constraints read from the catalogue."""

from __future__ import annotations

import numpy as np
import pytest

from hearth.features.catalogue import load_catalogue
from hearth.modelling.evaluation.metrics import paired_ap_difference
from hearth.modelling.scoring.score import explain
from hearth.modelling.training.baseline import ContactCountBaseline
from hearth.modelling.training.choice import choose
from hearth.modelling.training.ensemble import LogOddsAverage
from hearth.modelling.training.explain import importance
from hearth.modelling.training.fit import (
    IsotonicCalibrated,
    fit_candidate,
    make_estimator,
    monotone_constraints,
)
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.selection import train_and_evaluate
from tests.unit.modelling.test_training import window

SMALL = TrainParams(
    max_iter=20, min_samples_leaf=20, value_of_sharing=False, crises_per_leaf=0, max_negatives=0
)


def crafted(n: int = 6000, seed: int = 0):
    """A validation window and four candidates' scores: the baseline finds crises weakly, the
    logistic regression well, the trees as well as it plus a hair of noise, the ensemble far
    better."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.08).astype(int)
    pids = np.array([f"{i:064x}" for i in range(n)])
    base = y * 0.4 + rng.normal(0, 1, n)
    logistic = y * 1.2 + rng.normal(0, 1, n)
    trees = logistic + rng.normal(0, 0.01, n)
    ensemble = y * 2.5 + rng.normal(0, 1, n)
    scores = {"baseline": base, "logistic": logistic, "gradient_boosting": trees}
    return y, pids, scores | {"ensemble": ensemble}


def test_a_lead_within_chance_keeps_the_simpler_candidate():
    y, pids, scores = crafted()
    ap = {
        k: paired_ap_difference(y, s, scores["baseline"], pids)["ap_difference"]
        for k, s in scores.items()
    }
    # the trees are a hair ahead of or behind the regression: noise, so the regression stays
    three = ("baseline", "logistic", "gradient_boosting")
    got = choose(y, scores, pids, three)
    assert got.kind == "logistic" and not got.fallback
    assert [s["better"] for s in got.steps] == [True, False]
    assert got.steps[1]["against"] == "logistic" and got.steps[1]["p_value"] >= 0.05
    assert "not better beyond chance" in got.sentence
    # a lead beyond chance wins whatever comes before it
    assert choose(y, scores, pids, (*three, "ensemble")).kind == "ensemble"
    assert ap["ensemble"] > ap["gradient_boosting"]
    # the order of the candidates' names does not matter: the simpler is tried first
    assert choose(y, scores, pids, ("gradient_boosting", "logistic", "baseline")).kind == (
        "logistic"
    )


def test_the_choice_keeps_each_bootstrap_it_drew_as_a_fresh_draw_gives_it():
    y, pids, scores = crafted()
    got = choose(y, scores, pids, ("baseline", "logistic", "gradient_boosting"))
    assert got.compared("logistic", "baseline") == paired_ap_difference(
        y, scores["logistic"], scores["baseline"], pids
    )
    assert got.compared("gradient_boosting", "logistic") == paired_ap_difference(
        y, scores["gradient_boosting"], scores["logistic"], pids
    )
    assert got.compared("gradient_boosting", "baseline") is None  # never drawn


def test_the_baseline_is_chosen_when_no_learned_candidate_beats_it():
    y, pids, scores = crafted()
    noisy = scores["baseline"] + np.random.default_rng(5).normal(0, 0.02, len(y))
    got = choose(y, {**scores, "logistic": noisy}, pids, ("logistic",))
    assert got.kind == "baseline" and got.fallback  # not a candidate, still the reference
    assert got.steps[0]["against"] == "baseline" and not got.steps[0]["better"]
    # unscorable candidates never win
    nan = np.full(len(y), np.nan)
    assert choose(y, {**scores, "logistic": nan}, pids, ("logistic",)).kind == "baseline"
    # the baseline as the only candidate is no fallback: it was asked for
    only = choose(y, scores, pids, ("baseline",))
    assert only.kind == "baseline" and not only.fallback and only.steps == []


def test_the_bootstrap_counts_ties_as_scikit_learn_does_and_is_repeatable():
    from sklearn.metrics import average_precision_score

    y, pids, scores = crafted(2000, 3)
    rounded = np.round(scores["logistic"], 1)  # many ties
    d = paired_ap_difference(y, rounded, scores["baseline"], pids, resamples=50)
    want = average_precision_score(y, rounded) - average_precision_score(y, scores["baseline"])
    assert d["ap_difference"] == pytest.approx(want, abs=1e-12)
    assert d == paired_ap_difference(y, rounded, scores["baseline"], pids, resamples=50)
    same = paired_ap_difference(y, rounded, rounded, pids, resamples=50)
    assert same["ap_difference"] == 0 and same["p_value"] == 1.0


@pytest.fixture(scope="module")
def small_area():
    cat = load_catalogue()
    names = cat.usable_names(12)
    train, valid = window("2024-01", 1, n=2500), window("2025-01", 2, n=2500)
    return cat, names, train, valid


def test_the_ensemble_is_a_candidate_and_the_choice_is_by_average_precision(small_area):
    cat, names, train, valid = small_area
    params = TrainParams(
        **{**vars(SMALL), "candidates": ("logistic", "gradient_boosting", "ensemble")}
    )
    result = train_and_evaluate(train, valid, cat, params, fixed_k=50, names=names, recency_cap=12)
    assert set(result.candidate_metrics) == {"logistic", "gradient_boosting", "ensemble"}
    assert result.selection == "average_precision"
    assert [s["candidate"] for s in result.choice_steps] == [
        "logistic",
        "gradient_boosting",
        "ensemble",
    ]
    # the chosen one is the last that beat what was chosen before it
    assert (
        result.kind
        == ([s["candidate"] for s in result.choice_steps if s["better"]] or ["baseline"])[-1]
    )
    assert result.train_crises == int(train.y.sum())
    # the gate's lead over counting contacts is the very bootstrap a fresh draw gives (the
    # choice's own comparison is reused, not drawn again)
    if result.kind != "baseline":
        base = fit_candidate("baseline", train.X(names), train.y, train.pids, names, params)
        fresh = paired_ap_difference(
            valid.y, result.valid_scores, base.predict_proba(valid.X(names))[:, 1], valid.pids
        )
        assert result.metrics["baseline_check.ap_difference"] == fresh["ap_difference"]
        assert result.metrics["baseline_check.ap_p_value"] == fresh["p_value"]
    ens = fit_candidate("ensemble", train.X(names), train.y, train.pids, names, params)
    # one calibration of the members' mean raw log-odds
    assert isinstance(ens, IsotonicCalibrated) and isinstance(ens.estimator, LogOddsAverage)
    X = valid.X(names)[:200]
    raw = ens.estimator.decision_function(X)
    p = ens.predict_proba(X)[:, 1]
    assert np.all(np.diff(p[np.argsort(raw)]) >= 0)  # the calibration keeps the ranking
    # the reasons add up to its log-odds (up to one constant for every household)
    gap = explain(ens, X).sum(axis=1) - raw
    assert np.ptp(gap) < 1e-3 * max(1.0, np.ptp(raw))


@pytest.mark.parametrize(
    ("kind", "calibration"),
    [
        ("baseline", "crossfit"),
        ("logistic", "crossfit"),
        ("gradient_boosting", "crossfit"),
        ("ensemble", "crossfit"),
        ("ensemble", "sigmoid"),  # the earlier recipe's ensemble of calibrated members
    ],
)
def test_feature_importance_is_right_for_every_candidate(small_area, kind, calibration):
    """Issue 27: feature_importance.csv was all zeros whenever the ensemble was chosen. The
    crises of this world follow breathing problems and domestic abuse: every candidate must
    put a feature of those first, and give weight to more than one feature."""
    cat, names, train, valid = small_area
    params = TrainParams(**{**vars(SMALL), "calibration": calibration})
    model = fit_candidate(kind, train.X(names), train.y, train.pids, names, params)
    imp = importance(model, valid.X(names)[:500])
    assert imp.shape == (len(names),) and np.isfinite(imp).all()
    assert (imp > 0).sum() >= 2, kind
    top = names[int(np.argmax(imp))]
    signal = ("breathing", "respiratory", "domestic_abuse", "crisis", "agencies", "police")
    if kind != "baseline":  # the baseline weighs every 12-month count alike
        assert any(w in top for w in signal), (kind, top)
    else:
        assert isinstance(model, ContactCountBaseline) and top.endswith("_12m")


def test_a_model_explain_does_not_know_is_an_error_not_zeros():
    from sklearn.dummy import DummyClassifier

    X = np.zeros((10, 3))
    model = DummyClassifier().fit(X, [0, 1] * 5)
    with pytest.raises(TypeError, match="No explanation for a DummyClassifier"):
        explain(model, X)


def test_trees_are_sized_to_the_crises_in_training():
    big = TrainParams().sized(crises=30_000, households=1_000_000)
    assert (big.max_leaf_nodes, big.min_samples_leaf) == (15, 200)
    small = TrainParams().sized(crises=2_000, households=20_000)
    assert (small.max_leaf_nodes, small.min_samples_leaf) == (5, 100)
    tiny = TrainParams().sized(crises=30, households=2_000)
    assert (tiny.max_leaf_nodes, tiny.min_samples_leaf) == (4, 20)
    assert TrainParams(crises_per_leaf=0).sized(30, 2_000) == TrainParams(crises_per_leaf=0)


def test_the_trees_settings_reach_the_estimator():
    # the regularisation and feature subsampling that quality.py --train can set
    # (docs/performance.md, "Regularising the trees at 100,000 households")
    names = load_catalogue().usable_names(12)
    params = TrainParams(l2_regularization=30.0, max_features=0.8, min_samples_leaf=77)
    est = make_estimator("gradient_boosting", params, names)
    assert (est.l2_regularization, est.max_features, est.min_samples_leaf) == (30.0, 0.8, 77)
    # half the features per split by default (measured on three realistic worlds)
    assert make_estimator("gradient_boosting", TrainParams(), names).max_features == 0.5


def test_monotone_constraints_come_from_the_catalogue():
    cat = load_catalogue()
    names = cat.names
    cst = monotone_constraints(names)
    by = dict(zip(names, cst, strict=True))
    assert by["ae_respiratory_12m"] == 1 and by["breathing_records_24m"] == 1
    assert by["domestic_abuse_months_since"] == -1 and by["crisis_records_months_since"] == -1
    # not signs of need, trends, the register and combinations are left free
    assert by["smoke_alarm_fitted_12m"] == 0 and by["never_smoker_recorded_months_since"] == 0
    assert by["ae_respiratory_trend"] == 0 and by["residents"] == 0
    assert by["agencies_involved_12m"] == 0
    # every feature's direction is what the catalogue says it is, in the order given
    assert cst == [cat.by_name(n).monotone for n in names]
    # a column the catalogue does not describe (a data scientist's own) is left free
    assert monotone_constraints(["ae_respiratory_12m", "offered_from_list"]) == [1, 0]
    assert make_estimator("gradient_boosting", TrainParams(), names).monotonic_cst == cst
    assert (
        make_estimator("gradient_boosting", TrainParams(monotone=False), names).monotonic_cst
        is None
    )


def test_a_constrained_tree_never_lowers_risk_for_more_records():
    # in this sample more A&E attendances happen to go with fewer crises; the constraint
    # keeps the fitted risk from falling as the count rises
    names = ["ae_respiratory_12m", "residents"]
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.poisson(1.0, 4000), rng.integers(1, 6, 4000)]).astype(np.float32)
    y = (rng.random(4000) < np.where(X[:, 0] >= 2, 0.02, 0.2)).astype(int)
    grid = np.column_stack([np.arange(8), np.full(8, 3)]).astype(np.float32)
    est = make_estimator("gradient_boosting", SMALL, names).fit(X, y)
    assert np.all(np.diff(est.predict_proba(grid)[:, 1]) >= -1e-12)
    free = make_estimator(
        "gradient_boosting", TrainParams(**{**vars(SMALL), "monotone": False}), names
    )
    assert np.any(np.diff(free.fit(X, y).predict_proba(grid)[:, 1]) < -1e-3)
