"""Training at one date, judging on the next, the value-of-sharing table and the refit on the
newest year: on small hand-made windows whose signal is known."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hearth.features.build import label_window_end, theme_columns
from hearth.features.catalogue import load_catalogue
from hearth.features.design import Design
from hearth.modelling.evaluation.sharing import JOINED, JOINED_REFIT
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.selection import Window, refit_on_latest, train_and_evaluate

SMALL = TrainParams(
    max_iter=20,
    min_samples_leaf=20,
    sharing_max_iter=10,
    # the trees too: the logistic regression weighs themes only (hearth/modelling/training/fit.py),
    # and this
    # world's signal is two record kinds inside broad themes
    candidates=("baseline", "logistic", "gradient_boosting"),
)


def window(as_of: str, seed: int, n: int = 3000) -> Window:
    """Random counts for every catalogue feature; crises follow breathing problems (health)
    and domestic abuse (police), so each agency alone sees part of the signal."""
    cat = load_catalogue()
    rng = np.random.default_rng(seed)
    data = {n_: rng.poisson(0.2, n).astype(np.float32) for n_ in cat.names}
    frame = pl.DataFrame({"household_pid": [f"{seed:02d}{i:062x}" for i in range(n)]} | data)
    frame = frame.with_columns(theme_columns(cat))  # themes add up their members, as built
    logit = -4 + 2.0 * frame["ae_respiratory_12m"] + 2.0 * frame["domestic_abuse_12m"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit.to_numpy()))).astype(int)
    frame = frame.with_columns(
        pl.lit("E06000901").alias("la_code"), pl.lit("WHITE").alias("ethnic_group")
    )
    return Window(as_of, frame, y)


@pytest.fixture(scope="module")
def trained():
    cat = load_catalogue()
    names = cat.usable_names(12)
    train, valid = window("2024-01", 1), window("2025-01", 2)
    result = train_and_evaluate(train, valid, cat, SMALL, fixed_k=50, names=names, recency_cap=12)
    return cat, names, valid, result


def test_value_of_sharing_counts_themes_over_each_models_agencies(trained):
    cat, names, _, result = trained
    table = {r["model"]: r for r in result.sharing.iter_rows(named=True)}
    assert len(table) == 2 + 2 * len(cat.agencies) + (JOINED_REFIT in table)  # and the register
    assert table[JOINED]["features"] == len(names)
    # the joined row is the model itself: the card's numbers
    for name in ("precision_at_1pct", "precision_at_5pct", "recall_at_1pct"):
        assert table[JOINED][name] == result.metrics[name], name
    fire = [n for n in cat.features_of({"fire"}) if n in names]
    assert table["fire alone"]["features"] == len(fire)
    assert "crisis_records_12m" in fire and "breathing_records_12m" not in fire
    assert not any(n.endswith("_24m") or n.endswith("_36m") for n in fire)
    # health and police each hold half the signal; together they find more
    joined = table[JOINED_REFIT if JOINED_REFIT in table else JOINED]["precision_at_5pct"]
    assert joined > table["health alone"]["precision_at_5pct"]
    assert joined > table["police alone"]["precision_at_5pct"]
    assert table["health alone"]["precision_at_5pct"] > table["fire alone"]["precision_at_5pct"]


def test_refit_uses_the_newest_year_and_keeps_the_judged_model(trained):
    cat, names, valid, result = trained
    judged = result.model
    longer = cat.usable_names(24)
    assert set(names) < set(longer)
    before = result.model.predict_proba(valid.X(names))[:, 1]
    refit = refit_on_latest(result, valid, longer, SMALL, recency_cap=24)
    assert refit.eval_model is judged and refit.model is not judged
    assert refit.eval_feature_names == names and refit.feature_names == longer
    assert (refit.eval_recency_cap, refit.recency_cap) == (12, 24)
    assert refit.refit_as_of == "2025-01" and refit.refit_rows == len(valid.y)
    after = refit.model.predict_proba(valid.X(longer))[:, 1]
    assert not np.allclose(before, after)
    # the model that publishes has its own calibration check, by band of the list, on the
    # refit year's households with probabilities from maps fitted without them
    cal = refit.publishing_calibration
    assert cal["band"].to_list()[:3] == ["top 1%", "1-5%", "5-10%"]
    assert cal["households"].sum() == len(valid.y) and cal["crises"].sum() == valid.y.sum()
    assert cal["model"][0].startswith("publishing model")
    # the refit's crises end where scoring starts: its labels never reach past T
    design = Design.for_scoring("2026-01")
    assert label_window_end(design.valid_as_of) == design.score_as_of
    assert label_window_end(design.train_as_of) == design.valid_as_of


def test_refit_without_crises_keeps_the_model_and_says_so():
    cat = load_catalogue()
    names = cat.usable_names(12)
    train, valid = window("2024-01", 3, 1500), window("2025-01", 4, 1500)
    result = train_and_evaluate(train, valid, cat, SMALL, fixed_k=50, sharing=False, names=names)
    model = result.model
    quiet = Window(valid.as_of, valid.frame, np.zeros_like(valid.y))
    out = refit_on_latest(result, quiet, cat.usable_names(24), SMALL, recency_cap=24)
    assert out.model is model and out.refit_as_of is None
    assert "No crisis in the 12 months after 2025-01" in out.notes[0]


def test_case_control_sampling_keeps_every_crisis_and_calibration_whole():
    from hearth.modelling.training.fit import calibration_mask, fit_candidate, fitting_sample

    w = window("2024-01", 5, 20000)
    rows = ~calibration_mask(w.pids, 0.2)
    keep = fitting_sample(w.pids, w.y, 3000, rows)
    assert keep[(w.y == 1) & rows].all() and not keep[~rows].any()
    assert abs(int((keep & (w.y == 0)).sum()) - 3000) < 300
    np.testing.assert_array_equal(keep, fitting_sample(w.pids, w.y, 3000, rows))
    assert fitting_sample(w.pids, w.y, 10**9, rows) is rows  # a small area: everything
    # Fitted on the sample, calibrated on the whole held-back fifth: the mean predicted risk
    # is the observed rate, not the sample's inflated one.
    names = load_catalogue().usable_names(12)
    X = w.X(names)
    sampled = fit_candidate(
        "gradient_boosting", X, w.y, w.pids, names, TrainParams(max_iter=30, max_negatives=3000)
    )
    p = sampled.predict_proba(X)[:, 1]
    assert p.mean() == pytest.approx(w.y.mean(), rel=0.15)
    assert (keep & (w.y == 1)).sum() / keep.sum() > 2 * w.y.mean()
