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


def _count_threads(monkeypatch, method: str) -> list[int]:
    """The OpenMP threads each call of the trees' `method` was given (the real method runs)."""
    seen: list[int] = []
    real = getattr(HistGradientBoostingClassifier, method)

    def counted(self, *a, **k):
        seen.append(_openmp_effective_n_threads())
        return real(self, *a, **k)

    monkeypatch.setattr(HistGradientBoostingClassifier, method, counted)
    return seen


def test_the_candidates_are_fitted_inside_the_limit_with_the_same_results(monkeypatch):
    keep = ("ae_respiratory", "domestic_abuse", "asb")
    names = [n for n in load_catalogue().usable_names(12) if n.startswith(keep)]
    frame, y, _ = additive_world(7, 1500)
    X, pids = frame.select(names).to_numpy().astype(np.float32), frame["household_pid"].to_numpy()
    params = TrainParams(max_iter=15, min_samples_leaf=20, max_leaf_nodes=6)
    seen = _count_threads(monkeypatch, "fit")
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
    seen = _count_threads(monkeypatch, "predict_proba")
    got = scored(model, names, frame, CAP)
    list(got.chunks)
    predict_in_chunks(model, frame, names)  # monitoring's scores of a window
    assert len(seen) >= 2 and set(seen) == {PREDICT_THREADS} == {1}


def test_the_regressions_scores_do_not_depend_on_the_thread_count():
    """The published score must be what any loader of the model computes, whatever its BLAS
    threads: the regression works in float64 (in float32 its products differ with the thread
    count, by about 1e-8: a clean venv's scores then missed the published ones)."""
    from threadpoolctl import threadpool_limits

    from hearth.modelling.training.fit import make_estimator

    rng = np.random.default_rng(3)
    names = load_catalogue().usable_names(12)
    X = rng.poisson(0.3, size=(20_000, len(names))).astype(np.float32)
    y = (rng.random(X.shape[0]) < 0.05 + 0.05 * (X[:, 0] > 0)).astype(int)
    model = make_estimator("logistic", TrainParams(), names).fit(X, y)
    with threadpool_limits(limits=1):
        one = model.predict_proba(X)[:, 1]
    with threadpool_limits(limits=2):
        two = model.predict_proba(X)[:, 1]
    assert np.allclose(one, two, rtol=1e-12, atol=0)
    # what makes it so: in float32 the products' rounding depends on how the BLAS splits them
    # (a 2,000-household world's scores moved by 1.2e-7 between one thread and two)
    assert model[:-1].transform(X).dtype == np.float64
    assert model[-1].coef_.dtype == np.float64
