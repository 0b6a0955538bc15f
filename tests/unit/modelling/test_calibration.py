"""Calibration that holds at the top of the list (hearth/modelling/training/fit.py): the isotonic
map on
cross-fitted scores, its knots, its folds and where it gives way to a held-back fifth; and
the calibration table by bands of the list (hearth/modelling/evaluation/metrics.py)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hearth.features.build import theme_columns
from hearth.features.catalogue import load_catalogue
from hearth.modelling.evaluation.metrics import calibration_bands
from hearth.modelling.training.fit import (
    IsotonicCalibrated,
    calibration_method,
    fit_candidate,
    household_folds,
    isotonic_knots,
    raw_fits,
)
from hearth.modelling.training.params import TrainParams


def test_isotonic_knots_increase_pool_thin_blocks_from_the_top_and_never_tie():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(1.5 * raw - 3)))).astype(int)
    kx, ky = isotonic_knots(raw, y, min_block=40)
    assert np.all(np.diff(kx) > 0) and np.all(np.diff(ky) > 0)
    # every knot rests on at least 40 households: two households at the very top with a
    # crisis each do not set a rate of 1 of their own
    raw2, y2 = np.append(raw, [9.0, 10.0]), np.append(y, [1, 1])
    kx2, ky2 = isotonic_knots(raw2, y2, min_block=40)
    assert ky2[-1] < 0.9 and kx2[-1] < 9
    assert isotonic_knots(raw2, y2, min_block=1)[1][-1] == 1.0  # what pooling prevents
    # the calibrated model keeps its ranking and makes no ties the raw scores did not have
    model = IsotonicCalibrated(None, kx, ky)
    p = model.calibrate(raw)
    assert len(np.unique(p)) == len(np.unique(raw))
    assert np.array_equal(np.argsort(p, kind="stable"), np.argsort(raw, kind="stable"))
    assert p.min() >= 0 and p.max() <= 1
    # no crisis at all: one flat knot, and the gate's flat-score rule refuses what it gives
    kx0, ky0 = isotonic_knots(raw, np.zeros(5000), min_block=40)
    assert len(kx0) == 1 and ky0[0] == 0


def additive_world(seed: int, n: int):
    """Risks that add up (as the synthetic world's do) where the logistic regression multiplies
    odds: Platt scaling over-predicts the top of the list."""
    cat = load_catalogue()
    rng = np.random.default_rng(seed)
    # every linked record exact (link-confidence shares 0) and no area rates: the draws of the
    # other features do not move when the catalogue gains a feature of those kinds
    unseen = ("confidence", "recording")
    counts = [f.name for f in cat.features if f.kind not in unseen]
    data = {f: rng.poisson(0.15, n).astype(np.float32) for f in counts}
    data |= {f.name: np.zeros(n, np.float32) for f in cat.features if f.kind in unseen}
    pids = [f"{seed:02d}{i:062x}" for i in range(n)]
    frame = pl.DataFrame({"household_pid": pids} | data).with_columns(theme_columns(cat))
    a = np.minimum(frame["ae_respiratory_12m"].to_numpy(), 3)
    b = np.minimum(frame["domestic_abuse_12m"].to_numpy(), 3)
    p = 0.01 + 0.12 * a + 0.12 * b
    return frame, (rng.random(n) < p).astype(int), p


def test_crossfit_holds_the_top_one_percent_where_platt_scaling_does_not():
    names = load_catalogue().usable_names(12)
    train, y, _ = additive_world(1, 20_000)
    valid, _, truth = additive_world(2, 20_000)
    X, Xv = (f.select(names).to_numpy().astype(np.float32) for f in (train, valid))
    pids, vpids = train["household_pid"].to_numpy(), valid["household_pid"].to_numpy()
    ratio = {}
    for how in ("crossfit", "sigmoid"):
        model = fit_candidate("logistic", X, y, pids, names, TrainParams(calibration=how))
        bands = calibration_bands(truth, model.predict_proba(Xv)[:, 1], vpids)
        ratio[how] = bands.filter(pl.col("band") == "top 1%")["predicted_to_observed"].item()
    assert abs(ratio["crossfit"] - 1) < 0.2, ratio
    assert ratio["sigmoid"] > 1.3, ratio  # the 1.24-1.31, here on purpose


def test_every_household_is_scored_out_of_fold_in_fixed_folds():
    names = load_catalogue().usable_names(12)
    frame, y, _ = additive_world(3, 3000)
    X, pids = frame.select(names).to_numpy().astype(np.float32), frame["household_pid"].to_numpy()
    folds = household_folds(pids, 5)
    assert np.array_equal(folds, household_folds(pids, 5)) and set(folds) == set(range(5))
    assert abs(np.bincount(folds).min() - 600) < 100
    params = TrainParams(max_iter=10, min_samples_leaf=20)
    fit = raw_fits(["gradient_boosting"], X, y, pids, names, params, "crossfit")
    got = fit["gradient_boosting"]
    assert got.rows.all() and np.isfinite(got.logit).all()
    # a household's out-of-fold score is not the final model's own (fitted with it)
    own = np.log(got.model.predict_proba(X)[:, 1] / got.model.predict_proba(X)[:, 0])
    assert not np.allclose(own, got.logit)
    # the ensemble is made from its members' fits: its scores are their mean
    both = raw_fits(["ensemble"], X, y, pids, names, params, "crossfit")
    members = [raw_fits([m], X, y, pids, names, params, "crossfit")[m] for m in ("logistic",)]
    assert np.allclose(both["logistic"].logit, members[0].logit)
    assert np.allclose(
        both["ensemble"].logit, (both["logistic"].logit + both["gradient_boosting"].logit) / 2
    )


def test_crossfit_only_where_it_pays_and_a_clear_error_for_an_unknown_calibration():
    params = TrainParams(crossfit_max_households=200_000)
    assert calibration_method(params, 200_000) == "crossfit"
    assert calibration_method(params, 200_001) == "isotonic"  # a held-back fifth suffices
    assert calibration_method(TrainParams(calibration="sigmoid"), 10) == "sigmoid"
    with pytest.raises(ValueError, match="Unknown calibration 'platt'; choose from crossfit"):
        calibration_method(TrainParams(calibration="platt"), 10)


def test_calibration_bands_show_the_top_of_the_list():
    n = 2000
    prob = np.linspace(0.5, 0.0, n)
    y = np.zeros(n)
    y[:10] = 1  # half the top 1% (20 households)
    bands = calibration_bands(y, prob, np.array([f"{i:06x}" for i in range(n)]), "m")
    assert bands["band"].to_list()[:4] == ["top 1%", "1-5%", "5-10%", "10-20%"]
    assert bands["households"].to_list()[:3] == [20, 80, 100] and bands["households"].sum() == n
    top = bands.row(0, named=True)
    assert top["crises"] == 10 and top["observed_rate"] == 0.5
    assert top["mean_predicted"] == pytest.approx(prob[:20].mean())
    assert top["predicted_to_observed"] == pytest.approx(prob[:20].mean() / 0.5)
