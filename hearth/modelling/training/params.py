"""The training parameters, declared once: `TrainParams` is what the code reads, and the
Dagster launchpad's `TrainConfig` (hearth/defs/modelling/assets.py) is generated from its
fields, so a parameter is added, defaulted and documented in one place. No heavy imports: the
definitions load this without scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from hearth.modelling.training.candidates import CANDIDATES


@dataclass
class TrainParams:
    """Hyperparameters; set from Dagster Config, never constants in the pipeline."""

    # At most this many boosting iterations; with `oof_stopping` (and the cross-fitted
    # calibration) the trees keep as many as give the lowest out-of-fold log-loss over the
    # folds (hearth/modelling/training/stopping.py: best_iterations).
    max_iter: int = 150
    oof_stopping: bool = True
    # What the kept count is judged by: "log_loss" (lowest, over every training household) or
    # "average_precision" (highest, the criterion the candidates are chosen by; stopping.py).
    # The log-loss: at 100,000 households the average precision read +0.003 and 0.000 against
    # it, at 40,000 the same (docs/performance.md, "The 3-year window as a rate").
    stopping: str = "log_loss"
    # With `oof_stopping`: the trees that score are the cross-fit's five fold models cut to the
    # kept iterations, their log-odds averaged (bagging), not one more fit on every household
    # (hearth/modelling/training/stopping.py). Off: on eight 40,000-household worlds it moved
    # the ratio to the oracle by -0.012 to +0.010, a mean of about zero (docs/performance.md).
    bagged_trees: bool = False
    # How many iterations the refit at T-12 keeps: "own" (its own out-of-fold rule above) or
    # "judged" (those whose ranking of the validation year was best for the judged trees:
    # hearth/modelling/training/refit_count.py).
    refit_iterations: str = "own"
    learning_rate: float = 0.05
    # The largest trees, for a large area; `sized` makes them smaller when there were fewer
    # crises to learn from (about `crises_per_leaf` crises in training for each leaf).
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 200
    crises_per_leaf: int = 400
    # Risk may not fall as a count of agency records rises (nor rise with the months since
    # the latest), as the feature catalogue says of each feature (Feature.monotone).
    monotone: bool = True
    # 100 read +0.009 and -0.003 at 100,000 households and -0.004 at 40,000 (docs/performance.md,
    # "Regularising the trees"): not taken.
    l2_regularization: float = 1.0
    # The share of the features each tree's splits may choose from (1.0: all of them). Half:
    # through the whole recipe on three realistic worlds the ratio to the oracle read +0.005,
    # +0.002 (100,000) and +0.008 (40,000), the top 1% within 10% of its truth, at less fitting
    # cost (docs/performance.md, "Regularising the trees at 100,000 households").
    max_features: float = 0.5
    # The trees are the log-odds average of this many fits, random states `seed` upward (with
    # `max_features` below 1 each reads other features at each split): every fit of the trees,
    # the fold models too, costs this many (hearth/modelling/training/tree_seeds.py). Three:
    # +0.003, +0.001, +0.005 on the shared-keys worlds, -0.001, +0.003, -0.004 token-linked,
    # at three times the trees' fit (docs/performance.md, "The trees averaged over seeds"):
    # not taken.
    tree_seeds: int = 1
    logistic_c: float = 0.5
    # "crossfit": an isotonic map (steps joined by lines: no ties) fitted on every training
    # household's out-of-fold score, for the model fitted on all of them; above
    # `crossfit_max_households`, "isotonic" on a held-back fifth; "sigmoid": Platt scaling on
    # it (the earlier recipe, too steep at the top of the list). See
    # hearth/modelling/training/fit.py. The limit counts the fit's rows: with `refit_years` 2
    # a household is there twice, and both the cross-fit's cost and the held-back fifth's
    # steadiness follow the rows, each with its own label.
    calibration: str = "crossfit"
    crossfit_folds: int = 5
    crossfit_max_households: int = 200_000
    calibration_share: float = 0.2
    # Fit on every crisis and at most about this many households without one (0: all); see
    # fitting_sample. Calibration always uses all the held-back households.
    max_negatives: int = 300_000
    # The value-of-sharing table refits the model nine times: on a large area it uses every
    # training household with a crisis and about this many without, and fewer trees, with its
    # own joined model as reference.
    sharing_max_negatives: int = 100_000
    sharing_max_iter: int = 100
    seed: int = 0
    # Threads each fit and prediction may use (scikit-learn's OpenMP and the BLAS, set with
    # threadpoolctl; 0: every core). One by default: on a machine whose cores are shared, a
    # tree fit on two threads took 5x the wall and 4x the CPU seconds of one thread (the
    # threads spin waiting for each other while a neighbour holds the core); measured in
    # docs/performance.md, "The training step's cost".
    fit_threads: int = 1
    candidates: tuple[str, ...] = field(default_factory=lambda: CANDIDATES)
    # The value-of-sharing table (nine single-agency and all-but-one refits).
    value_of_sharing: bool = True
    # Fit the chosen candidate again on the newest labelled year (T-12) to score at T: it then
    # uses 12 more months of history; see hearth/modelling/training/selection.py:refit_on_latest.
    refit_on_latest: bool = True
    # The years of outcomes the refit learns from: 1 (its own: features at T-12, crises in
    # (T-12, T]) or 2 (the training window's rows, features at T-24 and crises in
    # (T-24, T-12], stacked under them, each household twice), when T-24's history gives the
    # refit's features and "months since" (60 months of extracts before T); else one year and
    # the model card says why (hearth/modelling/training/recipe.py: Prepared.latest). Two
    # years read +0.027, +0.022 and +0.006 on the closed loop's three worlds, steadier over
    # redrawn labels (docs/performance.md, "Two years of outcomes for the refit").
    refit_years: int = 1

    def sized(self, crises: int, households: int) -> TrainParams:
        """These parameters sized to the data: trees with about one leaf for each
        `crises_per_leaf` crises in training (between 4 and `max_leaf_nodes`), and leaves of
        at least `min_samples_leaf` households or 1 in 200 of them, whichever is fewer (at
        least 20). A million-household area keeps the largest trees; a small one gets trees
        its few hundred crises can support. `crises_per_leaf` 0 leaves them as given."""
        if self.crises_per_leaf <= 0:
            return self
        leaves = min(self.max_leaf_nodes, max(4, crises // self.crises_per_leaf))
        leaf = min(self.min_samples_leaf, max(20, households // 200))
        return replace(self, max_leaf_nodes=leaves, min_samples_leaf=leaf)

    @classmethod
    def from_config(cls, config: Any) -> TrainParams:
        """From any object with these fields as attributes (the Dagster TrainConfig)."""
        values = {f.name: getattr(config, f.name) for f in fields(cls) if hasattr(config, f.name)}
        if "candidates" in values:
            values["candidates"] = tuple(values["candidates"])
        return cls(**values)


def config_fields() -> dict[str, tuple[type, Any]]:
    """Each parameter's type and default, for building a Dagster Config class from them
    (tuples become lists: Dagster config has no tuples)."""
    out: dict[str, tuple[type, Any]] = {}
    defaults = TrainParams()
    for f in fields(TrainParams):
        value = getattr(defaults, f.name)
        kind = {int: int, float: float, str: str, bool: bool}.get(type(value), list)
        out[f.name] = (list[str] if kind is list else kind, list(value) if kind is list else value)
    return out
