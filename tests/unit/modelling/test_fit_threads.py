"""How many threads the fits use (TrainParams.fit_threads, hearth/modelling/training/fit.py:
fitting_threads): one by default, every core with 0, and the same candidates either way."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import threadpool_info

from hearth.features.catalogue import load_catalogue
from hearth.modelling.training.fit import fit_candidates
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.threads import fitting_threads
from tests.unit.modelling.test_calibration import additive_world


def _limits() -> dict[str, int]:
    """Each thread pool's size now (OpenMP, the BLAS), as threadpoolctl reads them."""
    return {p["user_api"]: p["num_threads"] for p in threadpool_info()}


def test_the_fits_use_one_thread_by_default_and_every_core_with_zero():
    assert TrainParams().fit_threads == 1
    free = _openmp_effective_n_threads()
    with fitting_threads(TrainParams()):
        assert _openmp_effective_n_threads() == 1  # what scikit-learn's trees ask for
        assert set(_limits().values()) == {1}  # the BLAS too (the regression's products)
    assert _openmp_effective_n_threads() == free  # and given back after
    with fitting_threads(TrainParams(fit_threads=0)):
        assert _openmp_effective_n_threads() == free


def test_the_candidates_are_fitted_inside_the_limit_with_the_same_results(monkeypatch):
    keep = ("ae_respiratory", "domestic_abuse", "asb")
    names = [n for n in load_catalogue().usable_names(12) if n.startswith(keep)]
    frame, y, _ = additive_world(7, 1500)
    X, pids = frame.select(names).to_numpy().astype(np.float32), frame["household_pid"].to_numpy()
    params = TrainParams(max_iter=15, min_samples_leaf=20, max_leaf_nodes=6)
    seen: list[int] = []
    fit = HistGradientBoostingClassifier.fit

    def counted(self, *a, **k):  # the real fit, noting the threads it was given
        seen.append(_openmp_effective_n_threads())
        return fit(self, *a, **k)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", counted)
    kinds = ["baseline", "logistic", "gradient_boosting", "ensemble"]
    one = fit_candidates(kinds, X, y, pids, names, params)
    assert seen and set(seen) == {1}  # the five fold models and the final one
    seen.clear()
    every = fit_candidates(kinds, X, y, pids, names, replace(params, fit_threads=0))
    assert set(seen) == {_openmp_effective_n_threads()}
    for kind in kinds:  # the same models, to the last bits that summing in threads moves
        a, b = one[kind].predict_proba(X)[:, 1], every[kind].predict_proba(X)[:, 1]
        assert np.allclose(a, b, rtol=0, atol=1e-9), kind


def test_scoring_predicts_on_one_thread(monkeypatch):
    from hearth.modelling.scoring.monitoring import predict_in_chunks
    from hearth.modelling.scoring.score import scored
    from hearth.modelling.training.fit import make_estimator
    from hearth.modelling.training.threads import PREDICT_THREADS
    from tests.support.role_world import CAP, feature_world

    cat = load_catalogue()
    frame = feature_world(300, seed=5)
    names = [f.name for f in cat.features if f.kind in ("household", "derived", "recency")]
    y = (frame["crisis_records_12m"].to_numpy() > 0).astype(int)
    model = make_estimator("gradient_boosting", TrainParams(max_iter=5), names)
    model.fit(frame.select(names).to_numpy(), y)
    seen: list[int] = []
    predict = HistGradientBoostingClassifier.predict_proba

    def counted(self, *a, **k):  # the real prediction, noting the threads it was given
        seen.append(_openmp_effective_n_threads())
        return predict(self, *a, **k)

    monkeypatch.setattr(HistGradientBoostingClassifier, "predict_proba", counted)
    got = scored(model, names, frame, CAP)
    list(got.chunks)
    predict_in_chunks(model, frame, names)  # monitoring's scores of a window
    assert len(seen) >= 2 and set(seen) == {PREDICT_THREADS} == {1}
