"""Train the candidates at one date, judge them on a later date, and measure what each
agency's data adds (the value of sharing, hearth/modelling/evaluation/sharing.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from hearth.features.build import load_window, theme_columns
from hearth.features.catalogue import Catalogue
from hearth.features.design import Design, cap_recency, history_months, recency_cap
from hearth.modelling.evaluation.fairness import fairness_table, group_columns
from hearth.modelling.evaluation.metrics import (
    calibration_bands,
    evaluate_scores,
    paired_ap_difference,
    versus_baseline,
)
from hearth.modelling.evaluation.sharing_refits import value_of_sharing
from hearth.modelling.training.blocks import crisis_probability
from hearth.modelling.training.candidates import SELECTION_CRITERION
from hearth.modelling.training.choice import choose, fallback_sentence, words
from hearth.modelling.training.fit import calibration_method, fit_candidate, fit_candidates
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.refit_count import judged_count, refit_count
from hearth.modelling.training.threads import fitting_threads


@dataclass
class Window:
    """Features at one as-of date with the crisis labels of the 12 months after it."""

    as_of: str
    frame: pl.DataFrame  # ID columns + features
    y: np.ndarray

    def X(self, names: list[str], rows: np.ndarray | None = None) -> np.ndarray:
        """The feature matrix (float32: a million households by 300 features is 1.2 GB)."""
        frame = self.frame.select(names)  # the columns first: a filter copies only them
        if rows is not None:
            frame = frame.filter(pl.Series(rows))
        return frame.to_numpy().astype(np.float32, copy=False)

    @property
    def pids(self) -> np.ndarray:
        return self.frame["household_pid"].to_numpy()

    def restricted(self, agencies: set[str], cat: Catalogue) -> Window:
        """The same window with each theme counted over these agencies' records only."""
        if set(agencies) >= set(cat.agencies):
            return self
        return replace(self, frame=self.frame.with_columns(theme_columns(cat, agencies)))


def labelled_window(con, as_of: str, cap: int) -> Window:
    """The stored features at `as_of` ("months since" capped at `cap`) with their labels."""
    return _labelled(as_of, *load_window(con, as_of), cap)


def _labelled(as_of: str, feats: pl.DataFrame, labels: pl.DataFrame, cap: int) -> Window:
    y = feats.select("household_pid").join(labels, on="household_pid", how="left")["crisis_12m"]
    return Window(as_of, cap_recency(feats, cap), y.fill_null(0).to_numpy().astype(int))


@dataclass
class Windows:
    """What a training run reads from the warehouse: the labelled windows at the training and
    validation dates ("months since" capped to the training date's history), the validation
    date's features uncapped (for the refit there) and each date's months of history."""

    train: Window
    valid: Window
    raw_valid: pl.DataFrame
    history: int
    latest_history: int

    @property
    def cap(self) -> int:
        return recency_cap(self.history)


def load_windows(con, design: Design) -> Windows:
    """The windows of one run's temporal design (the champion_model asset and the quality
    benchmark read them the same way)."""
    history = history_months(con, design.train_as_of)
    cap = recency_cap(history)
    # the validation date's features read once: the capped window shares every column but the
    # "months since" with the uncapped frame
    raw_valid, valid_labels = load_window(con, design.valid_as_of)
    return Windows(
        train=labelled_window(con, design.train_as_of, cap),
        valid=_labelled(design.valid_as_of, raw_valid, valid_labels, cap),
        raw_valid=raw_valid,
        history=history,
        latest_history=history_months(con, design.valid_as_of),
    )


@dataclass
class TrainingResult:
    model: object
    kind: str
    feature_names: list[str]
    train_as_of: str
    valid_as_of: str
    metrics: dict[str, float]  # of the chosen model on the validation window
    candidate_metrics: dict[str, dict[str, float]]
    calibration: pl.DataFrame
    fairness: pl.DataFrame
    sharing: pl.DataFrame
    valid_scores: np.ndarray
    params: TrainParams
    recency_cap: int = 36
    train_rows: int = 0
    valid_rows: int = 0
    notes: list[str] = field(default_factory=list)
    # The contact-count baseline on the validation window: the promotion gate's reference
    # (hearth/modelling/evaluation/gate.py), fitted even when it is not a candidate.
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    # After a refit (`refit_on_latest`), `model` is the refit that scores; these keep the judged.
    eval_model: object | None = None
    eval_feature_names: list[str] = field(default_factory=list)
    eval_recency_cap: int = 36
    refit_as_of: str | None = None
    refit_rows: int = 0
    refit_years: int = 1  # the years of outcomes it learnt from (refit_years.py)
    refit_years_note: str | None = None  # why one, if two were asked: for the card
    # What the candidates were compared by (hearth/modelling/training/selection.py:choose) and how
    # many crises the judged model was trained on (what its trees were sized to, TrainParams.sized).
    selection: str = SELECTION_CRITERION
    train_crises: int = 0
    # Sources behind the month the run needed (a run that allows missing sources): one sentence
    # each, for the model card (evaluation/card.py). The model used what was accepted before.
    data_freshness: list[str] = field(default_factory=list)
    # How the events under the features were linked, per warehouse trained on (one, or each
    # authority's for a partnership model: hearth/linkage/probabilistic.py `measures_each`), for
    # the model card's "Linked records"; None outside a run
    linkage: dict[str, dict | None] | None = None
    # What safe updating did (hearth/modelling/training/safe_updating.py: SafeUpdating.summary),
    # for the model card's "Safe updating"; empty for a result trained outside the recipe.
    safe_updating: dict = field(default_factory=dict)
    # "Is the list working?" (hearth/modelling/evaluation/list_effect.py), None before any list
    # with a hold-out is old enough
    list_working: dict | None = None
    # How the choice was made (hearth/modelling/training/selection.py:choose): each comparison, and
    # in words.
    choice_steps: list[dict] = field(default_factory=list)
    choice_sentence: str = ""
    # Set when no learned candidate beat counting contacts beyond chance, so the contact-count
    # ranking is what is published: the sentence every output shows.
    contact_count_fallback: str | None = None
    # The calibration of the model that publishes (the refit at T-12), by band of the list,
    # checked on its own year's households with scores it did not fit
    # (hearth/modelling/training/fit.py: calibration_check); empty without a refit or a check.
    publishing_calibration: pl.DataFrame = field(default_factory=pl.DataFrame)
    calibration_method: str = ""
    # The refit's iterations when they are the judged trees' best on the validation year
    # (TrainParams.refit_iterations "judged": hearth/modelling/training/refit_count.py), else None.
    refit_iterations: int | None = None


VALIDATION_MODEL = "judged model, validation year"
PUBLISHING_MODEL = "publishing model, its own year (scores it did not fit)"


def fit_all(
    kinds,
    X: np.ndarray,
    y: np.ndarray,
    pids: np.ndarray,
    names: list[str],
    params: TrainParams,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, object]:
    """Every candidate fitted and calibrated; the ensemble from its members' fits, not again."""
    method = calibration_method(params, len(y))
    how = {
        "crossfit": f"each cross-fitted over {params.crossfit_folds} folds of households",
        "isotonic": "each calibrated on a held-back fifth of households",
        "sigmoid": "each calibrated (Platt) on a held-back fifth of households",
    }[method]
    progress(f"training candidates: {', '.join(words(k) for k in kinds)} ({how})")
    return fit_candidates(list(kinds), X, y, pids, names, params)


def train_and_evaluate(
    train: Window,
    valid: Window,
    cat: Catalogue,
    params: TrainParams,
    fixed_k: int = 1000,
    sharing: bool = True,
    progress: Callable[[str], None] = lambda _: None,
    names: list[str] | None = None,
    recency_cap: int = 36,
) -> TrainingResult:
    """`names` are the features usable with the training date's history and `recency_cap` its
    longest "months since" (both windows were capped to it by the caller)."""
    with fitting_threads(params):  # every fit and prediction below, as TrainParams says
        return _train_and_evaluate(
            train, valid, cat, params, fixed_k, sharing, progress, names, recency_cap
        )


def _train_and_evaluate(
    train: Window,
    valid: Window,
    cat: Catalogue,
    params: TrainParams,
    fixed_k: int,
    sharing: bool,
    progress: Callable[[str], None],
    names: list[str] | None,
    recency_cap: int,
) -> TrainingResult:
    names = names or cat.names
    params = sized_params(train, params, progress)
    kinds = candidate_kinds(params)
    # one matrix alive at a time (a million households by 350 features is 1.4 GB each)
    Xt = train.X(names)
    fitted = fit_all(kinds, Xt, train.y, train.pids, names, params, progress)
    count = judged_count(Xt, train.y, train.pids, names, valid, params)  # refit_count.py
    del Xt
    result = judge(train, valid, fitted, params, fixed_k, progress, names, recency_cap)
    result.refit_iterations = count
    if sharing:
        result.sharing = value_of_sharing(
            train,
            valid,
            cat,
            params,
            fixed_k,
            progress,
            names,
            result.kind,
            result.metrics,
            result.valid_scores,
        )
    return result


def sized_params(
    train: Window, params: TrainParams, progress: Callable[[str], None] = lambda _: None
) -> TrainParams:
    """The candidates' parameters, sized to the training crises; none is an error in words."""
    if train.y.sum() == 0:
        raise ValueError(
            f"No household had a crisis in the 12 months after {train.as_of}; there is nothing "
            "to learn from. Check that the health, fire, police and social care extracts cover "
            "that period."
        )
    params = params.sized(int(train.y.sum()), len(train.y))
    progress(
        f"{int(train.y.sum())} crises in training: trees of at most {params.max_leaf_nodes} "
        f"leaves of at least {params.min_samples_leaf} households"
    )
    return params


def candidate_kinds(params: TrainParams) -> list[str]:
    """The kinds fitted: the baseline always (what every candidate must beat), the candidates."""
    return list(dict.fromkeys(["baseline", *params.candidates]))


def judge(
    train: Window,
    valid: Window,
    fitted: dict[str, object],
    params: TrainParams,
    fixed_k: int,
    progress: Callable[[str], None],
    names: list[str],
    recency_cap: int,
) -> TrainingResult:
    """The fitted candidates (kind → calibrated model, the baseline among them) judged on the
    validation window: the choice, its metrics, calibration and fairness (no value of sharing)."""
    Xv = valid.X(names)
    valid_scores = {kind: crisis_probability(model, Xv) for kind, model in fitted.items()}
    del Xv
    cand_metrics = {
        kind: evaluate_scores(valid.y, valid_scores[kind], valid.pids, fixed_k)
        for kind in params.candidates
    }
    base_scores = valid_scores["baseline"]
    reference = cand_metrics.get("baseline") or evaluate_scores(
        valid.y, base_scores, valid.pids, fixed_k
    )
    progress("choosing: average precision of each candidate against the simpler, bootstrapped")
    choice = choose(valid.y, valid_scores, valid.pids, params.candidates)
    best = choice.kind
    scores = valid_scores[best]
    metrics = dict(cand_metrics.get(best) or reference)
    if reference["precision_at_1pct"] > 0:
        metrics["lift_over_baseline_at_1pct"] = (
            metrics["precision_at_1pct"] / reference["precision_at_1pct"]
        )
    # how far the list is ahead of the baseline's, counted (the champion_model asset check)
    metrics |= versus_baseline(valid.y, scores, base_scores, valid.pids)
    if best != "baseline":  # the gate reads the chosen model's lead over counting contacts
        # the choice's own bootstrap when it compared this candidate with the baseline (the
        # same call: not drawn twice)
        lead = choice.compared(best, "baseline") or paired_ap_difference(
            valid.y, scores, base_scores, valid.pids
        )
        metrics["baseline_check.ap_difference"] = lead["ap_difference"]
        metrics["baseline_check.ap_p_value"] = lead["p_value"]
    progress(choice.sentence)
    progress("fairness by group")
    fair = fairness_table(valid.y, scores, valid.pids, group_columns(valid.frame))
    return TrainingResult(
        model=fitted[best],
        kind=best,
        feature_names=names,
        train_as_of=train.as_of,
        valid_as_of=valid.as_of,
        metrics=metrics,
        candidate_metrics=cand_metrics,
        calibration=calibration_bands(valid.y, scores, valid.pids, VALIDATION_MODEL),
        fairness=fair,
        sharing=pl.DataFrame(),
        valid_scores=scores,
        params=params,
        recency_cap=recency_cap,
        train_rows=len(train.y),
        valid_rows=len(valid.y),
        baseline_metrics=reference,
        train_crises=int(train.y.sum()),
        choice_steps=choice.steps,
        choice_sentence=choice.sentence,
        contact_count_fallback=fallback_sentence(choice.steps, valid.as_of)
        if choice.fallback
        else None,
        calibration_method="contact counts"
        if best == "baseline"
        else calibration_method(params, len(train.y)),
    )


def refit_on_latest(
    result: TrainingResult,
    latest: Window,
    names: list[str],
    params: TrainParams,
    recency_cap: int,
) -> TrainingResult:
    """Fit the chosen candidate again on the newest labelled year (features at T-12, crises in
    (T-12, T]) to score at T.

    The model judged on the validation window was trained at T-24 and so could only use the
    history there was before T-24; the refit uses 12 more months of history (longer windows,
    a longer "months since") and the newest year of crises. Its quality is what the
    validation window measured for the same recipe: the refit itself has no later year to be
    judged on until next year. The judged model is kept (`eval_model`) for the promotion gate.
    """
    if latest.y.sum() == 0:
        return kept_without_refit(result, latest)
    params = refit_params(latest, params, result.refit_iterations)
    checks: dict = {}
    model = fit_candidate(
        result.kind, latest.X(names), latest.y, latest.pids, names, params, checks
    )
    return refitted(result, model, checks, latest, names, recency_cap)


def kept_without_refit(result: TrainingResult, latest: Window) -> TrainingResult:
    """No crisis in the newest labelled year: the judged model scores, with a note."""
    result.notes.append(
        f"No crisis in the 12 months after {latest.as_of}: kept the model trained at "
        f"{result.train_as_of} for scoring."
    )
    return result


def refit_params(latest: Window, params: TrainParams, count: int | None = None) -> TrainParams:
    """The refit's parameters: sized to its year's crises, grown to a judged `count` if any."""
    return refit_count(params.sized(int(latest.y.sum()), len(latest.y)), count)


def refitted(
    result: TrainingResult,
    model,
    checks: dict,
    latest: Window,
    names: list[str],
    recency_cap: int,
) -> TrainingResult:
    """The result with the refitted `model` (`checks`: its fit's) to score at T, the judged kept."""
    if result.kind in checks:
        rows, probs = checks[result.kind]
        result.publishing_calibration = calibration_bands(
            latest.y[rows], probs, latest.pids[rows], PUBLISHING_MODEL
        )
    result.eval_model, result.model = result.model, model
    result.eval_feature_names, result.feature_names = result.feature_names, names
    result.eval_recency_cap, result.recency_cap = result.recency_cap, recency_cap
    result.refit_as_of, result.refit_rows = latest.as_of, len(latest.y)
    return result
