"""The MLflow registry round trip on a real SQLite tracking store: the gate both ways, the
champion that scoring loads, and a promotion by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from hearth.modelling.evaluation.metrics import evaluate_scores
from hearth.modelling.registry.client import MODEL_NAME, Registry
from hearth.modelling.registry.promotion import promote_by_hand
from hearth.modelling.registry.run_log import log_and_promote
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.selection import TrainingResult

NAMES = ["signal", "noise"]


@pytest.fixture
def window():
    rng = np.random.default_rng(5)
    n = 3000
    signal = rng.exponential(1.0, n)
    noise = rng.normal(0, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2.5 * signal - 5)))).astype(int)
    frame = pl.DataFrame(
        {"household_pid": [f"{i:064x}" for i in range(n)], "signal": signal, "noise": noise}
    )
    return frame, y


def result_for(model, frame, y) -> TrainingResult:
    X = frame.select(NAMES).to_numpy()
    scores = model.predict_proba(X)[:, 1]
    metrics = evaluate_scores(y, scores, frame["household_pid"].to_numpy(), 100)
    empty = pl.DataFrame()
    return TrainingResult(
        model=model,
        kind="logistic",
        feature_names=NAMES,
        train_as_of="2024-01",
        valid_as_of="2025-01",
        metrics=metrics,
        candidate_metrics={"logistic": metrics},
        calibration=empty,
        fairness=empty,
        sharing=empty,
        valid_scores=scores,
        params=TrainParams(),
        train_rows=len(y),
        valid_rows=len(y),
    )


def test_gate_both_ways_and_champion_round_trip(hearth_home, window, tmp_path):
    frame, y = window
    X = frame.select(NAMES).to_numpy()
    good = LogisticRegression().fit(X, y)
    # a model that ranks by the noise column only: worse on the same window
    bad_two = LogisticRegression()
    bad_two.coef_, bad_two.intercept_ = np.array([[0.0, 1.0]]), np.array([-3.0])
    bad_two.classes_ = np.array([0, 1])

    first = log_and_promote(Registry(), result_for(good, frame, y), frame, y, {}, fixed_k=100)
    assert (first.version, first.alias) == ("1", "champion")
    assert first.reason == "there was no champion yet"

    second = log_and_promote(Registry(), result_for(bad_two, frame, y), frame, y, {}, fixed_k=100)
    assert (second.version, second.alias) == ("2", "challenger")
    assert "below the champion's (version 1)" in second.reason

    model, names, champ = Registry().load_champion()
    assert str(champ.version) == "1" and names == NAMES
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], good.predict_proba(X)[:, 1])

    client = Registry().client
    run = client.get_run(second.run_id)
    assert run.data.tags["promotion_decision"] == "challenger"
    assert run.data.metrics["precision_at_1pct"] == pytest.approx(
        result_for(bad_two, frame, y).metrics["precision_at_1pct"]
    )

    done = promote_by_hand("2", "field trial asked for the simpler model", by="a.analyst")
    assert (done.previous, done.already) == ("1", False)
    model, _, champ = Registry().load_champion()
    assert str(champ.version) == "2" and "field trial" in champ.tags["promotion_reason"]
    assert champ.tags["promoted_by"] == "a.analyst"
    assert str(client.get_model_version_by_alias(MODEL_NAME, "challenger").version) == "1"
    with pytest.raises(LookupError):
        promote_by_hand("9", "no such version here")


def test_a_refitted_champion_is_judged_by_the_model_it_was_judged_by(hearth_home, window):
    """A refitted champion has seen the crises of today's validation window; the gate must
    compare recipes (the models judged out of time), never that refit."""
    frame, y = window
    frame = frame.with_columns(pl.Series("leak", y + 0.01 * np.arange(len(y)) / len(y)))
    X = frame.select(NAMES).to_numpy()
    judged = LogisticRegression().fit(X, y)
    leaky = LogisticRegression().fit(frame.select(["leak"]).to_numpy(), y)
    first = result_for(judged, frame, y)
    first.eval_model, first.eval_feature_names, first.eval_recency_cap = judged, NAMES, 12
    first.model, first.feature_names, first.refit_as_of = leaky, ["leak"], "2025-01"
    first.valid_scores = leaky.predict_proba(frame.select(["leak"]).to_numpy())[:, 1]
    one = log_and_promote(Registry(), first, frame, y, {}, fixed_k=100)
    assert one.alias == "champion"

    # the same recipe again: equal to the judged model, far below the leaky refit
    two = log_and_promote(Registry(), result_for(judged, frame, y), frame, y, {}, fixed_k=100)
    assert two.alias == "champion", two.reason
    assert two.champion_precision_at_1pct == pytest.approx(first.metrics["precision_at_1pct"])

    registry = Registry()
    one_version = registry.version("1")
    assert one_version.tags["refit_as_of"] == "2025-01"
    assert "feature_names" not in one_version.tags  # an artifact, not a huge tag
    assert registry.feature_names(one_version) == ["leak"]
    assert registry.feature_names(one_version, judged=True) == NAMES
    # a version registered before the names moved to an artifact kept them as a tag
    registry.tag_version("1", {"feature_names": '["leak", "old"]'})
    assert registry.feature_names(registry.version("1")) == ["leak", "old"]
