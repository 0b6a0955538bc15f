"""Train the candidates at one date, judge them on a later date, and measure what each
agency's data adds (the value of sharing, models/sharing.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from hearth.features.build import load_window, theme_columns
from hearth.features.catalogue import Catalogue
from hearth.features.design import Design, cap_recency, history_months, recency_cap
from models.candidates import SELECTION_CRITERION
from models.ensemble import ENSEMBLE, MEMBERS, LogOddsAverage
from models.fairness import fairness_table, group_columns
from models.metrics import calibration_table, evaluate_scores, versus_baseline
from models.params import TrainParams
from models.sharing import value_of_sharing
from models.train import fit_candidate


@dataclass
class Window:
    """Features at one as-of date with the crisis labels of the 12 months after it."""

    as_of: str
    frame: pl.DataFrame  # ID columns + features
    y: np.ndarray

    def X(self, names: list[str], rows: np.ndarray | None = None) -> np.ndarray:
        """The feature matrix (float32: a million households by 300 features is 1.2 GB)."""
        frame = self.frame if rows is None else self.frame.filter(pl.Series(rows))
        return frame.select(names).to_numpy().astype(np.float32, copy=False)

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
    feats, labels = load_window(con, as_of)
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
    raw_valid, _ = load_window(con, design.valid_as_of)
    return Windows(
        train=labelled_window(con, design.train_as_of, cap),
        valid=labelled_window(con, design.valid_as_of, cap),
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
    # (models/gate.py), fitted even when it is not a candidate.
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    # After a refit (see `refit_on_latest`), `model` is the refitted model that scores, and
    # these keep the model that was judged on the validation window.
    eval_model: object | None = None
    eval_feature_names: list[str] = field(default_factory=list)
    eval_recency_cap: int = 36
    refit_as_of: str | None = None
    refit_rows: int = 0
    # What the candidates were compared by (models/training.py:choose) and how many crises
    # the judged model was trained on (what its trees were sized to, TrainParams.sized).
    selection: str = SELECTION_CRITERION
    train_crises: int = 0
    # Sources behind the month the run needed (a run that allows missing sources): one sentence
    # each, for the model card (models/card.py). The model used what was accepted before.
    data_freshness: list[str] = field(default_factory=list)


def _score(model, X: np.ndarray) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


def choose(
    candidate_metrics: dict[str, dict[str, float]], candidates, reference: dict | None = None
) -> str:
    """The candidate with the highest average precision on the validation window: every
    household with a crisis counts, so it varies far less from year to year than the
    precision in the top 1% (a few hundred households on a small area), while still weighing
    the top of the list most. Precision in the top 5%, then the candidates' order, breaks
    ties. The capacity metrics are reported beside it, not used to rank; but a candidate the
    gate would refuse (a learned model whose precision at 1% does not beat the contact-count
    baseline's, `reference`; models/gate.py) is passed over while another is acceptable."""

    def key(kind: str) -> tuple[float, float]:
        m = candidate_metrics[kind]
        return (
            float(np.nan_to_num(m.get(SELECTION_CRITERION, np.nan), nan=-1.0)),
            float(np.nan_to_num(m.get("precision_at_5pct", np.nan), nan=-1.0)),
        )

    base = float(np.nan_to_num((reference or {}).get("precision_at_1pct", np.nan), nan=-1.0))
    acceptable = [
        k
        for k in candidates
        if k != "baseline" and np.nan_to_num(candidate_metrics[k]["precision_at_1pct"]) > base
    ]
    return max(acceptable or candidates, key=key)


def fit_all(
    kinds,
    X: np.ndarray,
    y: np.ndarray,
    pids: np.ndarray,
    names: list[str],
    params: TrainParams,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, object]:
    """Every candidate fitted; the ensemble from the members already fitted, not again."""
    fitted: dict[str, object] = {}
    for kind in sorted(kinds, key=lambda k: k == ENSEMBLE):  # the ensemble last
        progress(f"training candidate: {kind}")
        if kind == ENSEMBLE and all(m in fitted for m in MEMBERS):
            fitted[kind] = LogOddsAverage([fitted[m] for m in MEMBERS])
        else:
            fitted[kind] = fit_candidate(kind, X, y, pids, names, params)
    return fitted


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
    names = names or cat.names
    Xt, Xv = train.X(names), valid.X(names)
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
    fitted = fit_all(params.candidates, Xt, train.y, train.pids, names, params, progress)
    cand_metrics = {
        kind: evaluate_scores(valid.y, _score(model, Xv), valid.pids, fixed_k)
        for kind, model in fitted.items()
    }
    if "baseline" in cand_metrics:
        base_scores = _score(fitted["baseline"], Xv)
        reference = cand_metrics["baseline"]
    else:
        progress("fitting the contact-count baseline (the gate's reference)")
        base = fit_candidate("baseline", Xt, train.y, train.pids, names, params)
        base_scores = _score(base, Xv)
        reference = evaluate_scores(valid.y, base_scores, valid.pids, fixed_k)
    best = choose(cand_metrics, params.candidates, reference)
    scores = _score(fitted[best], Xv)
    metrics = dict(cand_metrics[best])
    if reference["precision_at_1pct"] > 0:
        metrics["lift_over_baseline_at_1pct"] = (
            metrics["precision_at_1pct"] / reference["precision_at_1pct"]
        )
    # how far the list is ahead of the baseline's, counted (the champion_model asset check)
    metrics |= versus_baseline(valid.y, scores, base_scores, valid.pids)
    progress("fairness by group")
    fair = fairness_table(valid.y, scores, valid.pids, group_columns(valid.frame))
    share = (
        value_of_sharing(train, valid, cat, params, fixed_k, progress, names, best, metrics)
        if sharing
        else pl.DataFrame()
    )
    return TrainingResult(
        model=fitted[best],
        kind=best,
        feature_names=names,
        train_as_of=train.as_of,
        valid_as_of=valid.as_of,
        metrics=metrics,
        candidate_metrics=cand_metrics,
        calibration=calibration_table(valid.y, scores),
        fairness=fair,
        sharing=share,
        valid_scores=scores,
        params=params,
        recency_cap=recency_cap,
        train_rows=len(train.y),
        valid_rows=len(valid.y),
        baseline_metrics=reference,
        train_crises=int(train.y.sum()),
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
        result.notes.append(
            f"No crisis in the 12 months after {latest.as_of}: kept the model trained at "
            f"{result.train_as_of} for scoring."
        )
        return result
    params = params.sized(int(latest.y.sum()), len(latest.y))
    model = fit_candidate(result.kind, latest.X(names), latest.y, latest.pids, names, params)
    result.eval_model, result.model = result.model, model
    result.eval_feature_names, result.feature_names = result.feature_names, names
    result.eval_recency_cap, result.recency_cap = result.recency_cap, recency_cap
    result.refit_as_of, result.refit_rows = latest.as_of, len(latest.y)
    return result
