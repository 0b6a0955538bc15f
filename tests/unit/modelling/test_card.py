"""The model card (hearth/modelling/evaluation/card.py) and the champion-against-baseline margin
(hearth/modelling/evaluation/metrics.py):
the size of area quality was measured on, the fairness rule, the joined row, by hand."""

import dataclasses

import numpy as np
import polars as pl
import pytest

from hearth.modelling.evaluation.card import evaluation_metrics, model_card
from hearth.modelling.evaluation.fairness import RULE, fairness_table, wilson
from hearth.modelling.evaluation.metrics import baseline_margin, sign_test_p, versus_baseline
from hearth.modelling.evaluation.sharing import JOINED
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.selection import TrainingResult


def pids(n: int) -> np.ndarray:
    return np.array([f"{i:064x}" for i in range(n)])


def test_sign_test_by_hand():
    # 12 against 11 of 23: P(X >= 12) for Binomial(23, 1/2) is exactly one half
    assert sign_test_p(12, 11) == pytest.approx(0.5)
    # 10 against 2: (C(12,10) + C(12,11) + C(12,12)) / 2^12 = 79 / 4096
    assert sign_test_p(10, 2) == pytest.approx(79 / 4096)
    assert sign_test_p(0, 0) == 1.0


def test_versus_baseline_counts_the_crises_only_one_list_finds():
    # 200 households, top 1% = 2: the model lists 0 and 1, the baseline 1 and 2
    y = np.zeros(200, dtype=int)
    y[[0, 1, 2]] = 1
    model = np.linspace(1, 0, 200)
    base = model.copy()
    base[0], base[2] = 0.0, 2.0
    m = versus_baseline(y, model, base, pids(200))
    assert m["baseline_check.listed_at_1pct"] == 2
    assert (
        m["baseline_check.model_found_at_1pct"],
        m["baseline_check.baseline_found_at_1pct"],
    ) == (2, 2)
    assert (
        m["baseline_check.found_only_by_model"],
        m["baseline_check.found_only_by_baseline"],
    ) == (1, 1)
    assert m["baseline_check.p_value"] == pytest.approx(0.75)


def test_the_margin_warns_when_chance_gives_the_lead():
    counts = {
        "baseline_check.listed_at_1pct": 50.0,
        "baseline_check.found_only_by_model": 12.0,
        "baseline_check.found_only_by_baseline": 11.0,
        "baseline_check.p_value": sign_test_p(12, 11),
    }
    passed, sentence = baseline_margin(counts)
    assert not passed and "does not beat the contact-count baseline" in sentence
    assert "found 12" in sentence and "baseline's 11" in sentence
    counts |= {
        "baseline_check.found_only_by_model": 10.0,
        "baseline_check.found_only_by_baseline": 2.0,
        "baseline_check.p_value": sign_test_p(10, 2),
    }
    assert baseline_margin(counts)[0]
    assert not baseline_margin({})[0]  # a champion logged before the check: say so


def result() -> TrainingResult:
    n = 5000
    rng = np.random.default_rng(3)
    y = (rng.random(n) < 0.06).astype(int)
    scores = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    groups = pl.DataFrame({"g": np.where(np.arange(n) % 2, "a", "b")})
    metrics = {"precision_at_1pct": 0.28, "prevalence": 0.06, "auc": 0.7}
    sharing = pl.DataFrame(
        {
            "model": [JOINED, "fire alone", "police alone"],
            "features": [10, 5, 5],
            "training_households": [n, n, n],
            "precision_at_1pct": [0.28, 0.12, 0.12],
            "precision_at_5pct": [0.2, 0.1, 0.1],
            "recall_at_1pct": [0.05, 0.02, 0.02],
            "same_scores_as": ["", "", "fire alone"],
            "share_of_joined_p1": [1.0, 0.43, 0.43],
        }
    )
    return TrainingResult(
        model=None,
        kind="gradient_boosting",
        feature_names=["x"] * 10,
        train_as_of="2024-01",
        valid_as_of="2025-01",
        metrics=metrics,
        candidate_metrics={},
        calibration=pl.DataFrame(),
        fairness=fairness_table(y, scores, pids(n), groups),
        sharing=sharing,
        valid_scores=scores,
        params=TrainParams(),
        train_rows=n,
        valid_rows=n,
    )


def test_the_card_says_where_quality_was_measured_and_the_fairness_rule():
    card = model_card(result())
    assert "On one area of 5,000 households" in card and "Its top 1% is 50 households" in card
    # precision 0.28 at 400 households (the top 1% of 40,000): 112 of 400, by Wilson
    low, high = wilson(112, 400)
    assert f"| 40,000 | 400 | {low:.1%} to {high:.1%} |" in card
    assert "What a small council should expect" in card
    assert RULE in card and "most deprived fifth is IMD deciles 1 and 2" in card
    # a table logged before intervals were kept: the interval cells are empty
    assert "| police alone | 12.0% |  |  | 10.0% | 2.0% | the same scores as fire alone |" in card


def test_the_card_gives_the_value_of_sharing_with_its_intervals():
    """Each row's precision at 1% with its 95% interval, and its difference to the model in
    words that claim no more than the interval: a row above the model within noise says so."""
    base = result()
    sharing = base.sharing.with_columns(
        pl.Series("precision_at_1pct", [0.28, 0.12, 0.29]),
        pl.Series("precision_at_1pct_low", [0.22, 0.08, 0.23]),
        pl.Series("precision_at_1pct_high", [0.34, 0.16, 0.35]),
        pl.Series("difference_p1", [0.0, -0.16, 0.01]),
        pl.Series("difference_p1_low", [0.0, -0.21, -0.02]),
        pl.Series("difference_p1_high", [0.0, -0.11, 0.04]),
        pl.Series("same_scores_as", ["", "", ""]),
    )
    card = model_card(dataclasses.replace(base, sharing=sharing))
    assert "| model trained on | precision at 1% | 95% interval | against the model" in card
    assert (
        "| fire alone | 12.0% | 8.0% to 16.0% | behind by −16.0 points (95% interval −21.0 "
        "to −11.0) |" in card
    )
    assert "| police alone | 29.0% | 23.0% to 35.0% | within noise: +1.0 points" in card
    assert "Police alone scored above the model on these households" in card
    assert "within noise, not a better list" in card


def test_fairness_and_sharing_numbers_go_to_mlflow_as_metrics():
    m = evaluation_metrics(result())
    assert m["sharing.all_agencies_joined_the_model.precision_at_1pct"] == 0.28
    assert {"fairness.g.a.recall", "fairness.g.a.recall_low", "fairness.groups_flagged"} <= set(m)


def test_the_card_says_which_source_is_stale():
    """Issue 23: a run that went on without a source's newest months says so in the card."""
    card = model_card(result())
    assert "## Data freshness\n\n- Every source had sent the month the run needed." in card
    stale = result()
    stale.data_freshness = ["fire: 2 months behind; its newest accepted extract is 2025-10."]
    card = model_card(stale)
    assert "## Data freshness\n\n- fire: 2 months behind" in card
    assert "Every source had sent" not in card


def test_the_card_shows_the_publishing_models_calibration_and_the_contact_count_ranking(tmp_path):
    from dataclasses import replace

    from hearth.modelling.evaluation.card import write_artifacts
    from hearth.modelling.evaluation.metrics import calibration_bands
    from hearth.modelling.training.choice import fallback_sentence

    base = result()
    n = len(base.valid_scores)
    y = (np.random.default_rng(4).random(n) < base.valid_scores * 0.5).astype(int)
    steps = [
        {
            "candidate": "logistic",
            "against": "baseline",
            "ap_difference": 0.001,
            "p_value": 0.4,
            "better": False,
        }
    ]
    said = fallback_sentence(steps, "2025-01")
    r = replace(
        base,
        kind="baseline",
        calibration_method="contact counts",
        calibration=calibration_bands(y, base.valid_scores, pids(n), "judged model"),
        publishing_calibration=calibration_bands(y, base.valid_scores, pids(n), "publishing"),
        refit_as_of="2025-01",
        contact_count_fallback=said,
    )
    card = model_card(r)
    assert card.splitlines()[2] == f"**The contact-count ranking.** {said}"
    assert said.startswith("No learned model (logistic regression) ranked the validation year")
    assert "| publishing | top 1% | 50 |" in card and "| judged model | 5-10% | 250 |" in card
    assert "the crisis rate seen in training at each number of agency contacts" in card
    m = evaluation_metrics(r)
    assert "calibration.publishing.top_1pct.predicted_to_observed" in m
    assert "calibration.judged.90_100pct.predicted_to_observed" in m
    paths = write_artifacts(r, y, tmp_path)
    assert paths["calibration_plot"].stat().st_size > 1000
    cal = pl.read_csv(paths["calibration"])
    assert cal["model"].unique(maintain_order=True).to_list() == ["publishing", "judged model"]
    # a learned model's card has no such notice
    assert "contact-count ranking" not in model_card(base)
