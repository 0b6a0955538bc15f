"""How many boosting iterations the trees keep, and which trees publish.

Iterations: as many as give the lowest log-loss over every training household's out-of-fold
score, judged in the cross-fit the calibration already makes (hearth/modelling/training/fit.py:
raw_fits). Judged on all the year's crises, not a tenth of them (scikit-learn's own early
stopping): on 20,000 households a tenth holds about a hundred crises, as noisy as the
over-fitting it would stop.

Which trees (`TrainParams.bagged_trees`, off by default): the cross-fit has already grown one
model on each four fifths of the households; with it, the trees that score are those fold
models, each cut to the kept iterations, their log-odds averaged (bagging), rather than one more
model fitted on every household. Trees of four or five leaves on an area's few thousand crises
differ from one fit to the next in which of two correlated records they split on, and the
average of five fits should rank more steadily, at no extra fit; measured on eight
40,000-household worlds it did not (-0.012 to +0.010 against the oracle, about zero on average:
docs/performance.md), so one model fitted on every household stays the default."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hearth.modelling.training.ensemble import LogOddsAverage
from hearth.modelling.training.tree_seeds import cut, iterations, staged_log_odds

# What the kept count of iterations is judged by (`TrainParams.stopping`): the out-of-fold
# log-loss over every training household (lowest), or the out-of-fold average precision (highest:
# the criterion the candidates are chosen by, hearth/modelling/training/candidates.py, which
# weighs the top of the list).
STOPPING = ("log_loss", "average_precision")


def best_iterations(oof_loss: np.ndarray) -> int:
    """How many boosting iterations to keep: the count whose out-of-fold log-loss, summed over
    every training household, is lowest (the first such count on a tie: fewer trees)."""
    return int(np.argmin(oof_loss)) + 1


def truncated(model, iterations: int):
    """Fitted gradient-boosted trees (or the average of several fits: tree_seeds.py) cut to
    their first `iterations` boosting iterations: the model a fit with `max_iter=iterations`
    gives, without fitting again."""
    return cut(model, iterations)


@dataclass
class FoldFit:
    """One fold's part of a stopped cross-fit (`fold_fit`): the model grown on the other folds'
    sampled households, and how it scored its own fold's sampled households after each
    iteration: the summed log-loss and, for `by` "average_precision", the log-odds themselves."""

    model: object
    loss: np.ndarray  # (max_iter,)
    staged: np.ndarray | None = None  # (its judged households, max_iter), float32


def fold_fit(
    fit: Callable[[np.ndarray, int], object],
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    sample: np.ndarray,
    fold: int,
    max_iter: int,
    by: str = "log_loss",
) -> FoldFit | None:
    """The fold model of `fold` (`crossfit_stopped`'s loop, one turn): grown to `max_iter` on
    the sampled households of the other folds and scored on its own after every iteration.
    None when the other folds hold no crisis (nothing to learn from without this fold). The
    folds are independent of each other: each can be fitted anywhere, and `pooled` puts them
    together."""
    if by not in STOPPING:
        raise ValueError(f"Unknown stopping '{by}'; choose from {', '.join(STOPPING)}.")
    held = folds == fold
    if y[~held].sum() == 0:
        return None
    m = fit(sample & ~held, max_iter)
    judged = held & sample
    loss = np.zeros(max_iter)
    staged = None
    if by != "log_loss":
        staged = np.full((int(judged.sum()), max_iter), np.nan, dtype=np.float32)
    for i, z in enumerate(staged_log_odds(m, X[judged])):
        loss[i] = float(np.sum(np.logaddexp(0.0, z) - y[judged] * z))
        if staged is not None:
            staged[:, i] = z
    return FoldFit(m, loss, staged)


def pooled(
    fit: Callable[[np.ndarray, int], object],
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    sample: np.ndarray,
    fold_fits: list[FoldFit | None],
    max_iter: int,
    logit_clip: float,
    bagged: bool = False,
    by: str = "log_loss",
) -> tuple[object, np.ndarray, np.ndarray]:
    """The folds' fits (`fold_fit`, one for each of `np.unique(folds)` in that order) pooled:
    their losses summed, the kept count chosen, the out-of-fold log-odds and the model that
    scores, as `crossfit_stopped` returns them."""
    if by not in STOPPING:
        raise ValueError(f"Unknown stopping '{by}'; choose from {', '.join(STOPPING)}.")
    loss = np.zeros(max_iter)
    fold_models: list[tuple[np.ndarray, object]] = []
    staged = np.full((len(y), max_iter), np.nan, dtype=np.float32) if by != "log_loss" else None
    for f, got in zip(np.unique(folds), fold_fits, strict=True):
        if got is None:
            continue
        held = folds == f
        fold_models.append((held, got.model))
        loss += got.loss  # in fold order, as the sum over the folds always was
        if staged is not None:
            staged[held & sample] = got.staged
    if not fold_models:
        best = max_iter
    elif staged is not None:
        best = best_by_precision(staged, y)
    else:
        best = best_iterations(loss)
    logit = np.zeros(len(y))
    for held, m in fold_models:
        if best <= iterations(m):  # the fold model cut to the kept count: one pass, not staged
            z = truncated(m, best).decision_function(X[held])
            logit[held] = np.clip(z, -logit_clip, logit_clip)
    if bagged and len(fold_models) > 1 and len(fold_models) == len(np.unique(folds)):
        return LogOddsAverage([truncated(m, best) for _, m in fold_models]), logit, loss
    return fit(sample, best), logit, loss


def crossfit_stopped(
    fit: Callable[[np.ndarray, int], object],
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    sample: np.ndarray,
    max_iter: int,
    logit_clip: float,
    bagged: bool = False,
    by: str = "log_loss",
) -> tuple[object, np.ndarray, np.ndarray]:
    """`fit(rows, iterations)` fits the trees on `rows`. Each fold model is grown to `max_iter`
    on the sampled households of the other folds and scores its own fold after every iteration;
    the count with the lowest summed log-loss (`best_iterations`, over the sampled households the
    fold models were fitted like) is kept for the out-of-fold log-odds (clipped to
    +-`logit_clip`) and for the model that scores: with `bagged`, the log-odds average of the
    fold models cut to that count (when every fold had a model); otherwise a model fitted on
    every sampled household. `by` "average_precision": the count with the highest average
    precision of the out-of-fold scores of every sampled household, pooled over the folds, is
    kept instead. Returns that model, the out-of-fold log-odds of every household and the loss
    after each iteration. In two parts, `fold_fit` for each fold (independent of each other:
    a partnership's run fits each in a step of its own) and `pooled`."""
    if by not in STOPPING:
        raise ValueError(f"Unknown stopping '{by}'; choose from {', '.join(STOPPING)}.")
    fits = [fold_fit(fit, X, y, folds, sample, f, max_iter, by) for f in np.unique(folds)]
    return pooled(fit, X, y, folds, sample, fits, max_iter, logit_clip, bagged, by)


def best_by_precision(staged: np.ndarray, y: np.ndarray) -> int:
    """The count of iterations whose pooled out-of-fold scores (`staged`: each judged
    household's log-odds after every iteration, NaN where it was not judged) have the highest
    average precision; the fewest trees on a tie."""
    from sklearn.metrics import average_precision_score

    judged = ~np.isnan(staged[:, 0])
    ap = [average_precision_score(y[judged], staged[judged, i]) for i in range(staged.shape[1])]
    return int(np.argmax(ap)) + 1
