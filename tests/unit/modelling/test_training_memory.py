"""What keeps training's memory bounded as the area grows (issue 28: a million households under
8 GB): predictions a block of households at a time give the very numbers of one call, the
validation date's features are read once, a matrix is built from its columns before its rows
are filtered; and the benchmarks' bare training computes what the recipe computes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import hearth.modelling.training.selection as selection
from hearth.features.catalogue import load_catalogue
from hearth.features.design import Design, cap_recency
from hearth.modelling.training.blocks import crisis_probability
from hearth.modelling.training.fit import fit_candidate
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.selection import Windows
from tests.unit.modelling.test_training import window

SMALL = TrainParams(max_iter=20, min_samples_leaf=20, crises_per_leaf=0, max_negatives=0)


@pytest.fixture(scope="module")
def fitted():
    cat = load_catalogue()
    names = cat.usable_names(12)
    w = window("2024-01", 3, n=1500)
    X = w.X(names)
    return X, {
        kind: fit_candidate(kind, X, w.y, w.pids, names, SMALL)
        for kind in ("baseline", "logistic", "gradient_boosting", "ensemble")
    }


@pytest.mark.parametrize("kind", ["baseline", "logistic", "gradient_boosting", "ensemble"])
def test_predictions_in_blocks_are_the_numbers_of_one_call(fitted, kind):
    X, models = fitted
    whole = models[kind].predict_proba(X)[:, 1]
    # 1500 rows in blocks of 64: 23 whole blocks and a last one of 28
    got = crisis_probability(models[kind], X, rows=64)
    assert got.shape == whole.shape
    assert np.array_equal(got, whole)


def test_a_window_small_enough_is_predicted_in_one_call(fitted):
    X, models = fitted

    class Counting:
        calls = 0

        def predict_proba(self, X):
            Counting.calls += 1
            return models["logistic"].predict_proba(X)

    crisis_probability(Counting(), X, rows=len(X))
    assert Counting.calls == 1
    crisis_probability(Counting(), X, rows=len(X) - 1)
    assert Counting.calls == 3


def test_a_matrix_of_some_rows_is_those_rows_of_the_whole_matrix():
    w = window("2024-01", 5, n=400)
    names = load_catalogue().usable_names(12)[:40]
    rows = np.arange(400) % 3 == 0
    got = w.X(names, rows)
    assert got.dtype == np.float32
    assert np.array_equal(got, w.X(names)[rows])


def test_the_validation_dates_features_are_read_once(monkeypatch):
    design = Design.for_scoring("2026-01")
    frames = {
        as_of: window(as_of, seed, n=300).frame.with_columns(
            pl.lit(40.0, pl.Float32).alias("ae_any_months_since")
        )
        for as_of, seed in ((design.train_as_of, 1), (design.valid_as_of, 2))
    }
    read: list[str] = []

    def load_window(_con, as_of):
        read.append(as_of)
        feats = frames[as_of]
        return feats, feats.select("household_pid").with_columns(
            pl.lit(1, pl.Int8).alias("crisis_12m")
        )

    monkeypatch.setattr(selection, "load_window", load_window)
    monkeypatch.setattr(selection, "history_months", lambda _con, as_of: 12)
    got = selection.load_windows(None, design)
    assert sorted(read) == sorted([design.train_as_of, design.valid_as_of])
    # the uncapped frame as read, the window the same frame capped, with its labels
    assert got.raw_valid.equals(frames[design.valid_as_of])
    assert got.valid.frame.equals(cap_recency(frames[design.valid_as_of], 12))
    assert got.valid.frame["ae_any_months_since"].max() == 13
    assert got.valid.y.tolist() == [1] * 300


def test_the_bare_training_fits_every_candidate_the_sharing_and_the_refit(monkeypatch):
    """benchmarks/run.py's bare compute is the product's computation without orchestration: a
    bare training that fitted only the trees would make the pipeline look slow."""
    from benchmarks.run import bare_recipe

    design = Design.for_scoring("2026-01")
    train, valid = window(design.train_as_of, 1), window(design.valid_as_of, 2)
    windows = Windows(train, valid, valid.frame, history=12, latest_history=24)
    monkeypatch.setattr(selection, "load_windows", lambda _con, _design: windows)
    times: dict[str, float] = {}
    params = TrainParams(max_iter=10, min_samples_leaf=20, crises_per_leaf=0)
    result, households, crises = bare_recipe(None, design, params, times=times)
    assert set(result.candidate_metrics) == set(params.candidates)
    assert result.sharing.height >= 2 * len(load_catalogue().agencies) + 1
    assert result.refit_as_of == design.valid_as_of and result.eval_model is not None
    assert result.feature_names == load_catalogue().usable_names(24)
    assert (households, crises) == (len(train.y), int(train.y.sum()))
    assert set(times) == {"train_evaluate", "recipe"}
