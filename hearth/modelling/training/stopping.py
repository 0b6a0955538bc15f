"""How many boosting iterations the trees keep: as many as give the lowest log-loss over every
training household's out-of-fold score, judged in the cross-fit the calibration already makes
(hearth/modelling/training/fit.py: raw_fits). Judged on all the year's crises, not a tenth of
them (scikit-learn's own early stopping): on 20,000 households a tenth holds about a hundred
crises, as noisy as the over-fitting it would stop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def best_iterations(oof_loss: np.ndarray) -> int:
    """How many boosting iterations to keep: the count whose out-of-fold log-loss, summed over
    every training household, is lowest (the first such count on a tie: fewer trees)."""
    return int(np.argmin(oof_loss)) + 1


def crossfit_stopped(
    fit: Callable[[np.ndarray, int], object],
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    sample: np.ndarray,
    max_iter: int,
    logit_clip: float,
) -> tuple[object, np.ndarray, np.ndarray]:
    """`fit(rows, iterations)` fits the trees on `rows`. Each fold model is grown to `max_iter`
    on the sampled households of the other folds and scores its own fold after every iteration;
    the count with the lowest summed log-loss (`best_iterations`, over the sampled households the
    fold models were fitted like) is kept for the out-of-fold log-odds (clipped to
    +-`logit_clip`) and for the model fitted on every sampled household. Returns that model,
    the out-of-fold log-odds of every household and the loss after each iteration."""
    loss = np.zeros(max_iter)
    fold_models: list[tuple[np.ndarray, object]] = []
    for f in np.unique(folds):
        held = folds == f
        if y[~held].sum() == 0:  # nothing to learn from without this fold
            continue
        m = fit(sample & ~held, max_iter)
        fold_models.append((held, m))
        judged = held & sample
        for i, z in enumerate(m.staged_decision_function(X[judged])):
            loss[i] += float(np.sum(np.logaddexp(0.0, z) - y[judged] * z))
    best = best_iterations(loss) if fold_models else max_iter
    logit = np.zeros(len(y))
    for held, m in fold_models:
        for i, z in enumerate(m.staged_decision_function(X[held])):
            if i + 1 == best:
                logit[held] = np.clip(z, -logit_clip, logit_clip)
                break
    return fit(sample, best), logit, loss
