"""How many boosting iterations the refit at T-12 keeps (`TrainParams.refit_iterations`).

"own" (the default): the refit's own rule (hearth/modelling/training/stopping.py), judged by
its cross-fit on the crises of its own year. "judged": the count whose ranking of the
validation year was best for the judged trees: grown to `max_iter` on the training year (T-24,
as the judged model's trees are fitted: the same sample and random state, so their first
iterations are its trees), scored on the validation year (features at T-12, crises in
(T-12, T]) after every iteration, and the count with the highest average precision (the
criterion the candidates are chosen by) taken for the refit, whose folds and final fit then
grow that many. The out-of-fold rule sees one year's crises and not how the world moves in the
year after; the validation year is one such year of drift, the refit's (docs/performance.md,
"Regularising the trees at 100,000 households": at 100,000 households one fit's ranking a year
later peaked at 25 iterations while the out-of-fold log-loss kept 108)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hearth.modelling.training.ensemble import ENSEMBLE
from hearth.modelling.training.params import TrainParams

REFIT_ITERATIONS = ("own", "judged")


def judged_count(X: np.ndarray, y: np.ndarray, pids: np.ndarray, names: list[str], valid, params):
    """With `refit_iterations` "judged" and trees among the candidates: the iterations whose
    scores of `valid` (a selection.Window at the validation date) after the judged trees,
    fitted on the training year's `X`, `y` (households `pids`), had the highest average
    precision (the fewest on a tie). None otherwise: the refit keeps its own rule."""
    if params.refit_iterations not in REFIT_ITERATIONS:
        raise ValueError(
            f"Unknown refit_iterations '{params.refit_iterations}'; choose from "
            f"{', '.join(REFIT_ITERATIONS)}."
        )
    trees = {"gradient_boosting", ENSEMBLE} & set(params.candidates)
    if params.refit_iterations == "own" or not trees or y.sum() == 0 or valid.y.sum() == 0:
        return None
    from sklearn.metrics import average_precision_score

    from hearth.modelling.training.fit import trees_at
    from hearth.modelling.training.sampling import fitting_sample
    from hearth.modelling.training.tree_seeds import staged_log_odds

    sample = fitting_sample(pids, y, params.max_negatives, np.ones(len(y), dtype=bool))
    model = trees_at(X, y, names, params)(sample, params.max_iter)
    staged = staged_log_odds(model, valid.X(names))
    ap = [average_precision_score(valid.y, z) for z in staged]
    return int(np.argmax(ap)) + 1


def refit_count(params: TrainParams, count: int | None) -> TrainParams:
    """The refit's parameters with the judged count of iterations (`judged_count`) in place of
    its own stopping rule; as they are when there is none."""
    if count is None:
        return params
    return replace(params, max_iter=count, oof_stopping=False)
