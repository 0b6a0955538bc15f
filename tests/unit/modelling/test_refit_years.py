"""Two years of outcomes for the refit (TrainParams.refit_years, issues 26 and 27): the refit's
rows with the training window's stacked under them, each household twice with its own year's
labels, only where the training date's history gives the refit's features and "months since";
otherwise one year and a sentence on the model card. The partnership's stages make the same
model as the one call (hearth/modelling/training/staged.py, recipe.py: `train_champion`).
On hand-made windows (tests/unit/modelling/test_training.py), the warehouse and MLflow left out:
the recipe's reading of them is replaced by the windows, its logging by a record of the result."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from hearth.features.catalogue import load_catalogue
from hearth.features.design import Design, recency_cap
from hearth.modelling.evaluation import card
from hearth.modelling.training import recipe, staged
from hearth.modelling.training.params import TrainParams
from tests.support.model_compare import differences
from tests.unit.modelling.test_training import SMALL, window

DESIGN = Design.for_scoring("2026-01")
N = 3000
QUICK = replace(SMALL, value_of_sharing=False)


def prepared(params: TrainParams, history: int) -> recipe.Prepared:
    """What `prepare_training` would give: the training window (2024-01) and the refit's
    (2025-01) over the same households but 100 (the last in the refit's year only, as a new
    household would be), each year its own features and crises, `history` months of extracts
    before the training date."""
    train, valid = window(DESIGN.train_as_of, 1, N), window(DESIGN.valid_as_of, 2, N)
    pids = valid.frame["household_pid"]
    train = replace(train, frame=train.frame.with_columns(pids.alias("household_pid")))
    train = replace(train, frame=train.frame[: N - 100], y=train.y[: N - 100])
    return recipe.Prepared(
        design=DESIGN,
        params=params,
        train=train,
        valid=valid,
        raw_valid=valid.frame,
        cap=recency_cap(history),
        names=load_catalogue().usable_names(history),
        history=history,
        latest_history=history + 12,
        latest_chances={},
        behind=[],
        linkage=None,
        safe_updating={},
        working=None,
        fingerprint="hand-made",
        run_tags={},
    )


def test_two_years_stack_the_training_windows_rows_under_the_refits_each_with_its_labels():
    prep = prepared(replace(SMALL, refit_years=2), 36)
    train, valid = prep.train, prep.valid
    assert prep.refit_years() == (2, None) and prep.stacks_years()
    latest, names, cap = prep.latest()
    assert names == prep.names and cap == 36
    assert latest.as_of == DESIGN.valid_as_of  # the refit's date: the card's and MLflow's
    assert len(latest.y) == N + N - 100
    # the refit's own rows first, the older year's under them, each with its own labels
    assert list(latest.pids[:N]) == list(valid.pids)
    assert list(latest.pids[N:]) == list(train.pids)
    assert np.array_equal(latest.y[:N], valid.y) and np.array_equal(latest.y[N:], train.y)
    assert not np.array_equal(valid.y[: N - 100], train.y)  # the two years' crises differ
    assert np.array_equal(latest.X(names)[:N], valid.X(names))
    assert np.array_equal(latest.X(names)[N:], train.X(names))
    # each household twice, the one in the refit's year only once
    seen = Counter(latest.pids)
    assert Counter(seen.values()) == {2: N - 100, 1: 100}
    # one year, as today: the refit's rows alone
    one = prepared(SMALL, 36)
    assert one.refit_years() == (1, None) and not one.stacks_years()
    alone, _, _ = one.latest()
    assert list(alone.pids) == list(valid.pids) and np.array_equal(alone.y, valid.y)


def test_two_years_need_the_training_window_kept():
    prep = prepared(replace(SMALL, refit_years=2), 36)
    prep.train = None
    with pytest.raises(ValueError, match="make the refit's window .* before freeing it"):
        prep.latest()
    with pytest.raises(ValueError, match="refit_years is 3: the refit learns from 1 year"):
        prepared(replace(SMALL, refit_years=3), 36).refit_years()


@pytest.mark.parametrize("history", [35, 24, 12])
def test_short_of_history_the_refit_learns_from_one_year_and_says_why(history):
    """Fewer than 36 months before the training date (60 before T): its "months since" (and
    below two years its features) are not the refit's, so the rows would not read alike."""
    prep = prepared(replace(SMALL, refit_years=2), history)
    years, why = prep.refit_years()
    assert years == 1 and not prep.stacks_years()
    assert why == (
        "Two years of outcomes were asked for the refit (refit_years 2), but the households as "
        f"at 2024-01 have {history} months of extracts before them, so fewer features or a "
        'shorter "months since" than those as at 2025-01 '
        f"({history + 12} months): the refit learnt from its own year only. Two years need 36 "
        "months of extracts before 2024-01, 60 before 2026-01."
    )
    latest, _, _ = prep.latest()
    assert list(latest.pids) == list(prep.valid.pids)


def _recorded(monkeypatch, prep: recipe.Prepared) -> list:
    """The recipe reading `prep` for the warehouse, and its logging replaced by a record of
    the result it would log (the card written from it as `write_artifacts` writes it)."""
    logged: list = []

    def log(registry, result, *args, **kwargs):
        logged.append((result, card.model_card(result)))
        return SimpleNamespace(previous_champion=None, version="1", alias="champion", reason="")

    def prepare(*args, **kwargs):
        return prep

    monkeypatch.setattr(recipe, "prepare_training", prepare)
    monkeypatch.setattr(staged, "prepare_training", prepare)
    monkeypatch.setattr(recipe, "log_and_promote", log)
    monkeypatch.setattr(card, "write_artifacts", lambda *a, **k: {})
    return logged


def _one_call(monkeypatch, params, history):
    logged = _recorded(monkeypatch, prepared(params, history))
    recipe.train_champion(None, DESIGN, params, 50, "sqlite:///unused", lambda k, v: False, {})
    return logged[0]


def _in_stages(monkeypatch, params, history, folder):
    logged = _recorded(monkeypatch, prepared(params, history))
    work = staged.Work(folder)
    for unit in staged.begin(work, None, DESIGN, params, 50, {}):
        staged.fit(work, unit)
    refits, shared = staged.choose(work)
    for unit in [*refits, *shared]:
        staged.fit(work, unit)
    staged.pool_refit(work)
    staged.finish(work, "sqlite:///unused", lambda k, v: False)
    return logged[0]


def test_the_stages_make_the_one_calls_two_year_refit(monkeypatch, tmp_path):
    """With two years the partnership's stages (the refit's window made in `begin` before the
    training window is freed, the refit's folds fitted apart and pooled) give the very model
    `train_champion` gives, and the card and MLflow's parameters say it learnt from two."""
    from hearth.modelling.registry.run_log import _params

    params = replace(QUICK, refit_years=2)
    one, one_card = _one_call(monkeypatch, params, 36)
    apart, apart_card = _in_stages(monkeypatch, params, 36, tmp_path / "work")
    assert one.refit_years == apart.refit_years == 2 and one.refit_years_note is None
    assert one.refit_rows == apart.refit_rows == N + N - 100
    assert differences(one.model, apart.model, "refit") == []
    assert differences(one.eval_model, apart.eval_model, "judged") == []
    assert one_card == apart_card
    assert _params(one, 50)["refit_years"] == 2
    assert (
        "- Scoring model: the same recipe fitted again on two years of outcomes: households as "
        "at 2025-01 with crises in the 12 months after and, stacked under them, households as "
        "at 2024-01 with crises in the 12 months after theirs (5,900 rows: a household in both "
        "years twice)"
    ) in one_card
    # not blind: the one-year refit of the same windows is another model, on its own rows
    single, single_card = _one_call(monkeypatch, QUICK, 36)
    assert single.refit_years == 1 and single.refit_rows == N
    assert differences(one.model, single.model, "refit") != []
    assert differences(one.eval_model, single.eval_model, "judged") == []
    assert _params(single, 50)["refit_years"] == 1
    assert "two years of outcomes" not in single_card
    assert f"at 2025-01 ({N:,} households) with crises in the 12 months after" in single_card


def test_short_of_history_the_card_and_the_stages_say_one_year(monkeypatch, tmp_path):
    params = replace(QUICK, refit_years=2)
    one, one_card = _one_call(monkeypatch, params, 24)
    apart, _ = _in_stages(monkeypatch, params, 24, tmp_path / "work")
    why = prepared(params, 24).refit_years()[1]
    assert one.refit_years == apart.refit_years == 1 and one.refit_rows == N
    assert one.refit_years_note == apart.refit_years_note == why
    assert f"\n- {why}\n" in one_card
    assert differences(one.model, apart.model, "refit") == []


def test_the_stacked_frame_keeps_what_a_fit_reads():
    prep = prepared(replace(SMALL, refit_years=2), 36)
    latest, names, _ = prep.latest()
    assert latest.frame.columns == ["household_pid", *names]
    assert latest.frame.schema["household_pid"] == pl.String


def test_the_publishing_models_check_says_it_ran_over_both_years(monkeypatch, tmp_path):
    """The check of the model that publishes runs over the rows it learnt from: with two years
    its table and the card's words say both years, a household twice; with one, its own year."""
    one, one_card = _one_call(monkeypatch, replace(QUICK, refit_years=2), 36)
    assert one.publishing_calibration.height
    assert set(one.publishing_calibration["model"]) == {
        "publishing model, its two years (scores it did not fit; a household in both twice)"
    }
    assert "is checked on its two years' rows (a household in both years twice)" in one_card
    single, single_card = _one_call(monkeypatch, QUICK, 36)
    assert set(single.publishing_calibration["model"]) == {
        "publishing model, its own year (scores it did not fit)"
    }
    assert "is checked on its own year's households" in single_card
