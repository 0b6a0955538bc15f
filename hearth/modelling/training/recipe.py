"""The champion recipe: what the `champion_model` asset does, as a plain function.

Candidates are trained at T-24 and judged on T-12; a version that cannot rank is refused
(hearth/modelling/evaluation/gate.py); the chosen recipe is fitted again on T-12 to score at T,
logged to MLflow
with its card, registered, and the promotion decided. Inside a run the alias moves only when
the run commits (hearth/operations/commit.py): the decision is staged for it."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from hearth.features.catalogue import load_catalogue
from hearth.features.design import Design, cap_recency, recency_cap
from hearth.ingest.freshness import expected_month, freshness_report
from hearth.linkage.probabilistic import measures_each as token_linkage_measures
from hearth.modelling.evaluation.gate import (
    Refusal,
    features_refusal,
    list_refusal,
    model_refusal,
    window_refusal,
)
from hearth.modelling.evaluation.list_effect import list_working
from hearth.modelling.registry.client import Registry
from hearth.modelling.registry.fingerprint import training_fingerprint
from hearth.modelling.registry.run_log import log_and_promote, log_refused
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.refit_years import (
    PUBLISHING_MODEL_TWO_YEARS,
    refit_years,
    stacked_years,
)
from hearth.modelling.training.safe_updating import (
    held_out_between,
    held_out_chances,
    reweight,
    safe_updating,
)
from hearth.modelling.training.threads import fitting_threads
from hearth.warehouse import query


class Refused(Exception):
    """The gate refused the version; `refusal` carries its sentence and rule."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.sentence)
        self.refusal = refusal


@dataclass
class Trained:
    result: object  # hearth.modelling.training.selection.TrainingResult
    decision: object  # hearth.modelling.registry.promotion.Decision
    alias_moves: str  # "now", or "when the run commits"


def stale_sources(con: duckdb.DuckDBPyConnection, as_of: str) -> list[str]:
    """One sentence per source whose newest accepted extract is older than the month a run at
    `as_of` needs: what the model card says the model was trained without."""

    newest = dict(query(con, "publish/summary_newest_by_source").fetchall())
    report = freshness_report(newest, expected_month(as_of, []))
    out = []
    for source in report["stale_sources"]:
        f = report["sources"][source]
        if f["newest_month"] is None:
            out.append(f"{source}: no extract accepted; the model has none of its records.")
            continue
        behind = f["months_behind"]
        out.append(
            f"{source}: {behind} month{'s' if behind != 1 else ''} behind; its newest accepted "
            f"extract is {f['newest_month']} (the run needed {f['expected_month']}), so the "
            "model used its records up to then."
        )
    return out


@dataclass
class Prepared:
    """What the recipe trains from, read from the warehouse and made safe: the labelled windows
    (safe updating applied, the held-out reweighted), the validation date's uncapped features
    for the refit, the features usable at each date, and what the model card is told besides
    (stale sources, linkage, safe updating, whether the list works, the data's fingerprint)."""

    design: Design
    params: TrainParams
    train: object | None  # hearth.modelling.training.selection.Window; None once freed
    valid: object  # Window
    raw_valid: object  # polars.DataFrame
    cap: int
    names: list[str]
    history: int  # months of extracts before the training date
    latest_history: int
    latest_chances: dict[str, float]
    behind: list[str]
    linkage: dict | None
    safe_updating: dict
    working: dict | None
    fingerprint: str
    run_tags: dict[str, str]

    def latest(self):
        """The refit's window (features at T-12 with "months since" capped to its history,
        the held-out reweighted), its usable features and its cap. With two years of outcomes
        (`refit_years`) the training window's rows, made safe as the refit's are, stacked
        under them: so it is made before the training window is freed."""
        from hearth.modelling.training.selection import Window

        names, cap = (
            load_catalogue().usable_names(self.latest_history),
            recency_cap(self.latest_history),
        )
        latest = Window(self.design.valid_as_of, cap_recency(self.raw_valid, cap), self.valid.y)
        latest, _ = reweight(latest, self.latest_chances)
        if self.refit_years()[0] == 2:
            if self.train is None:
                raise ValueError(
                    "The refit's two years of outcomes stack the training window's rows under "
                    "its own, but the training window was freed: make the refit's window "
                    "(Prepared.latest) before freeing it."
                )
            latest = stacked_years(latest, self.train, names)
        return latest, names, cap

    def stacks_years(self) -> bool:
        """Whether the refit stacks the training window's rows (so needs them kept)."""
        return self.params.refit_on_latest and self.refit_years()[0] == 2

    def refit_years(self) -> tuple[int, str | None]:
        """The years of outcomes the refit learns from, and when two were asked and it learns
        from one, why (hearth/modelling/training/refit_years.py)."""
        return refit_years(
            self.params.refit_years,
            self.design,
            self.names,
            self.cap,
            self.history,
            self.latest_history,
        )


def prepare_training(
    open_warehouse: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    design: Design,
    params: TrainParams,
    run_tags: dict[str, str],
    info: Callable[[str], None] = lambda _: None,
    warn: Callable[[str], None] = lambda _: None,
) -> Prepared:
    """The windows read (the warehouse opened read only, and closed before training) and made
    safe, the features usable chosen. Raises `Refused` for windows the gate refuses."""
    from hearth.modelling.training.selection import load_windows  # sklearn

    run_tags = {**run_tags, "hearth.as_of": design.score_as_of}
    with open_warehouse() as con:
        w = load_windows(con, design)
        behind = stale_sources(con, design.score_as_of)
        linkage = token_linkage_measures(con)
        # safe updating (issue 26): outcomes a published list changed are not learnt from
        safe = safe_updating(con, design.train_as_of, design.valid_as_of, design.score_as_of)
        # a visited household's features as of its first visit: the history it did not change
        w = safe.frozen_windows(con, w)
        held = held_out_between(con, design.train_as_of, design.valid_as_of)
        # the held-out stand in for the lottery's listed entrants: weighted by 1 / their chance
        train_chances = held_out_chances(con, design.train_as_of, design.valid_as_of)
        latest_chances = held_out_chances(con, design.valid_as_of, design.score_as_of)
        working = list_working(con, design.score_as_of)  # "is the list working?", for the card
    train, valid, raw_valid, cap = w.train, w.valid, w.raw_valid, w.cap
    history, latest_history = w.history, w.latest_history
    del w  # the windows are held by name only, so `del train` below frees the training frame
    safe.count_held_out(train, held)
    if safe.train_frozen.replaced or safe.valid_frozen.replaced:
        info(
            f"safe updating: {safe.train_frozen.replaced:,} training and "
            f"{safe.valid_frozen.replaced:,} validation households visited from a list train "
            "on their features as of their first visit"
        )
    # once the lottery tells what an offer does, the changed crises are counted as without it;
    # until then a household first listed inside a window is censored at that listing
    train, valid, valid_rows = safe.apply(train, valid)
    if not np.array_equal(valid_rows, np.arange(raw_valid.height)):  # else no copy
        raw_valid = raw_valid[valid_rows]
    if safe.corrected:  # every household is in training: the held-out stand in for nobody
        train_chances = latest_chances = {}
        info(
            f"safe updating: the lottery's offer ratio is {safe.ratio:.2f}; the crises of "
            f"{safe.train_corrected:,} training and {safe.valid_corrected:,} validation "
            "households a list changed counted as without the offer"
        )
    train, safe.train_added_copies = reweight(train, train_chances)
    if safe.acted_on and not safe.corrected:
        info(
            f"safe updating: {safe.excluded_train:,} training and {safe.excluded_valid:,} "
            "validation households left out (listed before the window); "
            f"{safe.train_censored.censored:,} and {safe.valid_censored.censored:,} censored at "
            f"their first listing, {safe.train_censored.crisis_before:,} and "
            f"{safe.valid_censored.crisis_before:,} kept with a crisis before it; "
            f"{safe.train_held_out:,} held-out households kept"
        )
    refusal = window_refusal(train.y, valid.y, design.train_as_of, design.valid_as_of)
    refusal = refusal or list_refusal(
        train.pids, train.y, safe.guard, design.train_as_of, design.valid_as_of
    )
    refusal = refusal or features_refusal(train.frame, safe.train_frozen, design.valid_as_of)
    if refusal:
        raise Refused(refusal)
    # identical data and settings register no second version (hearth/modelling/registry/run_log.py)
    fingerprint = training_fingerprint(
        {"training": (train.frame, train.y), "validation": (raw_valid, valid.y)}, params
    )
    names = load_catalogue().usable_names(history)
    info(f"{history} months of history before {design.train_as_of}: {len(names)} features usable")
    if history < 12:
        warn(
            f"Only {history} months of extracts come before the training date "
            f"{design.train_as_of}, so the model cannot use a 12-month look-back; with "
            "36 months of extracts it can."
        )
    return Prepared(
        design=design,
        params=params,
        train=train,
        valid=valid,
        raw_valid=raw_valid,
        cap=cap,
        names=names,
        history=history,
        latest_history=latest_history,
        latest_chances=latest_chances,
        behind=behind,
        linkage=linkage,
        safe_updating=safe.summary(),
        working=working,
        fingerprint=fingerprint,
        run_tags=run_tags,
    )


def train_champion(
    open_warehouse: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    design: Design,
    params: TrainParams,
    fixed_k: int,
    tracking_uri: str,
    stage: Callable[[str, dict], bool],
    run_tags: dict[str, str],
    info: Callable[[str], None] = lambda _: None,
    warn: Callable[[str], None] = lambda _: None,
) -> Trained:
    """Train, judge, refit, log, register and decide. Raises `Refused` for a version the gate
    refuses (after logging its training as refused). The warehouse is opened (read only) just
    to load the windows, and closed before training. `stage(key, value)` notes a change for the
    run's commit and returns False outside a run, when the alias moves at once (the caller
    passes the commit's `stage`, hearth/operations/commit.py: modelling knows no operations).

    The partnership's run makes the very same calls in steps that can run at once
    (hearth/modelling/training/staged.py)."""
    from hearth.modelling.training.selection import refit_on_latest, train_and_evaluate  # sklearn

    prep = prepare_training(open_warehouse, design, params, run_tags, info, warn)
    result = train_and_evaluate(
        prep.train,
        prep.valid,
        load_catalogue(),
        params,
        fixed_k,
        sharing=params.value_of_sharing,
        progress=info,
        names=prep.names,
        recency_cap=prep.cap,
    )
    # two years' refit stacks the training window's rows: its window is made before they go
    stacked = prep.latest() if prep.stacks_years() else None
    prep.train = None  # a million households by 350 features: free it before the refit
    check_model(result, prep, fixed_k, Registry(tracking_uri))
    if params.refit_on_latest:
        latest, latest_names, latest_cap = stacked or prep.latest()
        del stacked
        info(
            f"refitting the {result.kind.replace('_', ' ')} on {design.valid_as_of} "
            f"({prep.latest_history} months of history: {len(latest_names)} features usable)"
        )
        result = refit_on_latest(result, latest, latest_names, params, latest_cap)
        del latest
    return register(result, prep, fixed_k, tracking_uri, stage, warn)


def check_model(result, prep: Prepared, fixed_k: int, registry: Registry) -> None:
    """The gate's judgement of the judged model: a refused one is logged as refused and raises
    `Refused`."""
    refusal = model_refusal(result, prep.valid.y)
    if refusal:
        log_refused(registry, result, refusal.sentence, fixed_k, prep.run_tags)
        raise Refused(refusal)


def register(
    result,
    prep: Prepared,
    fixed_k: int,
    tracking_uri: str,
    stage: Callable[[str, dict], bool],
    warn: Callable[[str], None] = lambda _: None,
) -> Trained:
    """The trained (and refitted) result told what the card says besides, logged with its card,
    registered and the promotion decided (staged for the run's commit inside a run)."""
    from hearth.modelling.evaluation.card import write_artifacts  # sklearn, plotting

    result.data_freshness = prep.behind
    result.linkage = prep.linkage
    result.safe_updating = prep.safe_updating
    result.list_working = prep.working
    if result.refit_as_of:
        result.refit_years, result.refit_years_note = prep.refit_years()
        if result.refit_years == 2 and result.publishing_calibration.height:
            # its check ran over the rows it learnt from: both years, not its own year alone
            result.publishing_calibration = result.publishing_calibration.with_columns(
                model=pl.lit(PUBLISHING_MODEL_TWO_YEARS)
            )
    if result.contact_count_fallback:
        warn(result.contact_count_fallback)
    if result.refit_years_note:
        warn(result.refit_years_note)
    for note in result.notes:
        warn(note)
    # Noting that training has begun lets a rollback find the version it registers.
    in_run = stage("training", {"since": time.strftime("%H:%M:%S")})
    # the champion's scores, the importance and MLflow's check of the input example predict
    with fitting_threads(prep.params), tempfile.TemporaryDirectory() as tmp:
        artifacts = write_artifacts(result, prep.valid.y, Path(tmp))
        decision = log_and_promote(
            Registry(tracking_uri),
            result,
            prep.raw_valid,
            prep.valid.y,
            artifacts,
            fixed_k,
            set_alias=not in_run,
            run_tags=prep.run_tags,
            fingerprint=prep.fingerprint,
        )
    if in_run:
        previous = decision.previous_champion
        stage(
            "champion",
            {
                "version": decision.version,
                "alias": decision.alias,
                "previous": previous,
                "scoring_version": decision.version if decision.alias == "champion" else previous,
                "reason": decision.reason,
            },
        )
    return Trained(result, decision, "when the run commits" if in_run else "now")
