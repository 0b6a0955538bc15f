"""The promotion gate's refusals (hearth/modelling/evaluation/gate.py), each tested at its edge both
ways, and on
real trained models: a model on blank features, and the baseline as the gate's reference."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from hearth.modelling.evaluation.gate import (
    FLAT_GAP,
    MAX_TIED_SHARE,
    flat_scores,
    model_refusal,
    scores_refusal,
    window_refusal,
)


def top_then_rest(n: int, top: float, rest: float) -> np.ndarray:
    """The top 1% of `n` households at `top`, everyone else at `rest`."""
    k = int(np.ceil(0.01 * n))
    return np.array([top] * k + [rest] * (n - k))


@pytest.mark.parametrize("n", [200, 3000, 100_000])
def test_flat_scores_are_refused_at_any_size(n):
    assert FLAT_GAP == 0.01 and MAX_TIED_SHARE == 0.5
    assert "the same score" in flat_scores(np.full(n, 0.026))
    assert "the same score" in flat_scores(np.zeros(n))
    noisy = 0.026 + np.random.default_rng(1).normal(0, 1e-9, n)  # rounding noise, not a ranking
    assert "the same score" in flat_scores(noisy)
    # the top 1% exactly 1% above the median is not enough; a little more is
    assert "the same score" in flat_scores(top_then_rest(n, 101.0, 100.0))
    assert flat_scores(top_then_rest(n, 101.5, 100.0)) is None
    assert flat_scores(np.linspace(0.001, 0.5, n)) is None
    assert "not a number" in flat_scores(np.append(np.full(n - 1, 0.1), np.nan))


def test_a_top_tier_tied_with_the_households_below_it_is_refused():
    # 1,000 households: the top 1% is 10; the 11th has a score of 150
    def scores(unique_on_top: int) -> np.ndarray:
        top = [200.0 - i for i in range(unique_on_top)]
        return np.array(top + [150.0] * (11 - unique_on_top) + [100.0] * 989)

    assert flat_scores(scores(5)) is None  # 5 of the 10 tied with the 11th: half, allowed
    said = flat_scores(scores(4))  # 6 of the 10: the pseudonym would choose
    assert said.startswith("gives 6 of its top 1% (10 households) the same score")
    assert "pseudonym order" in said


def result(kind, p1, candidates, scores=None, valid_as_of="2025-01", lead=None):
    """A trained result as the gate reads it; `lead` is (average-precision lead over the
    contact-count baseline, its bootstrap p-value), as train_and_evaluate records it."""
    metrics = {"precision_at_1pct": p1}
    if lead is not None:
        metrics |= {"baseline_check.ap_difference": lead[0], "baseline_check.ap_p_value": lead[1]}
    return SimpleNamespace(
        kind=kind,
        valid_as_of=valid_as_of,
        metrics=metrics,
        valid_scores=np.linspace(0.01, 0.9, 1000) if scores is None else scores,
        candidate_metrics={k: {"precision_at_1pct": p1} for k in candidates},
    )


def test_a_learned_model_must_lead_the_baseline_beyond_chance():
    y = np.array([1] * 60 + [0] * 940)
    assert model_refusal(result("logistic", 0.3, ["logistic"], lead=(0.02, 0.01)), y) is None
    # a lead chance gives often enough is no lead: the case of issue 27 (4 of 15 against 4 of
    # 15 at 1%) is judged over the whole window, not by a strict inequality at 1%
    noise = model_refusal(result("ensemble", 0.267, ["ensemble"], lead=(0.002, 0.31)), y)
    assert noise.rule == "baseline"
    assert noise.sentence == (
        "The chosen model (ensemble) has a lead of 0.002 in average precision over the "
        "contact-count baseline on the validation window (2025-01), which chance gives with "
        "p = 0.310 (below 0.05 is needed), so it adds nothing to counting contacts; it was not "
        "registered, nothing was published and @champion is unchanged."
    )
    assert noise.metadata["ap_lead_p_value"] == 0.31
    at_edge = model_refusal(result("logistic", 0.3, ["logistic"], lead=(0.02, 0.05)), y)
    assert at_edge is not None  # p must be below 0.05, not equal to it
    assert model_refusal(result("logistic", 0.3, ["logistic"], lead=(0.02, 0.0499)), y) is None
    behind = model_refusal(result("logistic", 0.3, ["logistic"], lead=(-0.01, 0.01)), y)
    assert behind is not None
    unmeasured = model_refusal(result("logistic", 0.3, ["logistic"]), y)
    assert "has no measured lead" in unmeasured.sentence


def test_the_contact_count_ranking_publishes_unless_it_is_no_better_than_chance():
    y = np.array([1] * 60 + [0] * 940)  # a crisis rate of 0.06
    # chosen because no learned model beat it: published, not refused
    assert model_refusal(result("baseline", 0.3, ["baseline", "logistic"]), y) is None
    assert model_refusal(result("baseline", 0.1, ["baseline"]), y) is None
    alone = model_refusal(result("baseline", 0.06, ["baseline"]), y)
    assert "does not beat a list drawn at random (the crisis rate, 0.060)" in alone.sentence
    fallback = model_refusal(result("baseline", 0.06, ["baseline", "gradient_boosting"]), y)
    assert fallback.rule == "baseline"
    # flat contact counts (nobody had a contact) are degenerate too
    flat = model_refusal(result("baseline", 0.5, ["baseline"], np.full(1000, 0.03)), y)
    assert flat.rule == "flat_scores"


def test_flat_validation_scores_come_first():
    flat = model_refusal(result("logistic", 0.5, ["logistic"], np.full(1000, 0.3)), [1, 0])
    assert flat.rule == "flat_scores"
    assert flat.sentence.startswith("The chosen model (logistic) gives nearly every household")
    assert flat.sentence.endswith("nothing was published and @champion is unchanged.")


def test_windows_without_crises_are_refused():
    some, none = np.array([0, 1, 0]), np.zeros(3, dtype=int)
    assert window_refusal(some, some, "2024-01", "2025-01") is None
    train = window_refusal(none, some, "2024-01", "2025-01")
    assert train.sentence.startswith(
        "No household had a crisis in the 12 months after 2024-01 (the training window)"
    )
    valid = window_refusal(some, none, "2024-01", "2025-01")
    assert "after 2025-01 (the validation window), so no version can be judged" in valid.sentence
    assert valid.metadata == {"window": "validation", "as_of": "2025-01", "households": 3}


def test_flat_scores_at_scoring_time_are_refused():
    said = scores_refusal(np.full(3000, 0.026), "2026-01", "7")
    assert said.sentence.startswith("The champion (version 7) gives nearly every household")
    assert "at 2026-01, so the list would rank households by pseudonym order" in said.sentence
    assert scores_refusal(np.linspace(0, 1, 3000), "2026-01", "7") is None


def test_real_models_on_blank_features_are_refused_and_the_baseline_is_always_the_reference():
    from hearth.features.catalogue import load_catalogue
    from hearth.modelling.training.params import TrainParams
    from hearth.modelling.training.selection import Window, train_and_evaluate
    from tests.unit.modelling.test_training import window

    cat = load_catalogue()
    names = cat.usable_names(12)
    params = TrainParams(max_iter=20, min_samples_leaf=20, candidates=("logistic",))
    train, valid = window("2024-01", 5, 2000), window("2025-01", 6, 2000)
    good = train_and_evaluate(train, valid, cat, params, 50, sharing=False, names=names)
    assert "baseline" not in good.candidate_metrics  # not a candidate, yet measured
    assert good.baseline_metrics["precision_at_1pct"] >= 0
    assert model_refusal(good, valid.y) is None
    # a bad month blanks every feature: the model can only give everyone the same score
    blank = pl.DataFrame({n: np.zeros(2000, dtype=np.float32) for n in names})
    blank = valid.frame.select("household_pid", "la_code", "ethnic_group").hstack(blank)
    blanked = Window(valid.as_of, blank, valid.y)
    bad = train_and_evaluate(
        Window(train.as_of, blank, train.y), blanked, cat, params, 50, sharing=False, names=names
    )
    refusal = model_refusal(bad, valid.y)
    assert refusal.rule == "flat_scores", refusal
