"""Train, evaluate, register and promote; then score every household with the champion."""

import tempfile
import time
from pathlib import Path
from typing import NoReturn

import dagster as dg

from hearth.features.build import load_window
from hearth.features.catalogue import load_catalogue
from hearth.features.design import cap_recency, history_months, recency_cap
from hearth.operations.commit import stage, staged
from models.candidates import CANDIDATES
from models.gate import Refusal, model_refusal, scores_refusal, window_refusal
from models.registry import MODEL_NAME, load_champion, log_and_promote
from pipelines.resources import MlflowResource, RunSettings, WarehouseResource


def _refuse(refusal: Refusal) -> NoReturn:
    """Stop the run with the gate's sentence (no traceback in `hearth run`'s problem list)."""
    raise dg.Failure(
        description=refusal.sentence,
        metadata={"gate_rule": refusal.rule, **refusal.metadata},
        allow_retries=False,
    )


class TrainConfig(dg.Config):
    """Hyperparameters of the candidates (see models/train.py)."""

    max_iter: int = 150
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 200
    l2_regularization: float = 1.0
    logistic_c: float = 0.5
    calibration: str = "sigmoid"
    max_negatives: int = 300_000
    candidates: list[str] = list(CANDIDATES)
    value_of_sharing: bool = True
    sharing_max_negatives: int = 100_000
    sharing_max_iter: int = 100
    # Fit the chosen candidate again on the newest labelled year (T-12) to score at T: it then
    # uses 12 more months of history; see models/training.py:refit_on_latest.
    refit_on_latest: bool = True


@dg.asset(
    group_name="modelling",
    kinds={"scikitlearn", "mlflow"},
    deps=["household_features", "crisis_labels"],
)
def champion_model(
    context: dg.AssetExecutionContext,
    config: TrainConfig,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    run_settings: RunSettings,
):
    """Candidates (a contact-count baseline, logistic regression, gradient-boosted trees) are
    trained at T-24 and judged on T-12; the best is fitted again on T-12 (the newest year of
    crises, 12 more months of history) to score at T. It is logged to MLflow with its
    metrics, fairness, value of sharing and model card, registered as a new version of
    household_crisis_risk, and becomes @champion only if its recipe is at least as good as
    the current champion's on the same validation window (otherwise @challenger). The alias
    moves when the run commits. A version that cannot rank (models/gate.py) stops the run."""
    # scikit-learn and plotting load here, not when the definitions load
    from models.card import write_artifacts
    from models.train import TrainParams
    from models.training import Window, labelled_window, refit_on_latest, train_and_evaluate

    with warehouse.connect(read_only=True) as con:
        design = run_settings.design(con)
        history = history_months(con, design.train_as_of)
        latest_history = history_months(con, design.valid_as_of)
        cap = recency_cap(history)
        train = labelled_window(con, design.train_as_of, cap)
        valid = labelled_window(con, design.valid_as_of, cap)
        raw_valid, _ = load_window(con, design.valid_as_of)
    refusal = window_refusal(train.y, valid.y, design.train_as_of, design.valid_as_of)
    if refusal:
        _refuse(refusal)
    catalogue = load_catalogue()
    names = catalogue.usable_names(history)
    context.log.info(
        f"{history} months of history before {design.train_as_of}: {len(names)} features usable"
    )
    if history < 12:
        context.log.warning(
            f"Only {history} months of extracts come before the training date "
            f"{design.train_as_of}, so the model cannot use a 12-month look-back; with "
            "36 months of extracts it can."
        )
    params = TrainParams(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        l2_regularization=config.l2_regularization,
        logistic_c=config.logistic_c,
        calibration=config.calibration,
        max_negatives=config.max_negatives,
        candidates=tuple(config.candidates),
        sharing_max_negatives=config.sharing_max_negatives,
        sharing_max_iter=config.sharing_max_iter,
    )
    result = train_and_evaluate(
        train,
        valid,
        catalogue,
        params,
        run_settings.fixed_k,
        sharing=config.value_of_sharing,
        progress=context.log.info,
        names=names,
        recency_cap=cap,
    )
    del train  # a million households by 350 features: free it before the refit
    run_tags = {"dagster_run_id": context.run_id}
    refusal = model_refusal(result, valid.y)
    if refusal:
        from models.registry import log_refused

        log_refused(result, refusal.sentence, run_settings.fixed_k, mlflow.uri(), run_tags)
        _refuse(refusal)
    if config.refit_on_latest:
        latest_names, latest_cap = (
            catalogue.usable_names(latest_history),
            recency_cap(latest_history),
        )
        context.log.info(
            f"refitting the {result.kind.replace('_', ' ')} on {design.valid_as_of} "
            f"({latest_history} months of history: {len(latest_names)} features usable)"
        )
        latest = Window(design.valid_as_of, cap_recency(raw_valid, latest_cap), valid.y)
        result = refit_on_latest(result, latest, latest_names, params, latest_cap)
        del latest
    for note in result.notes:
        context.log.warning(note)
    # Inside a run the alias moves only when the run commits (hearth/operations/commit.py); noting
    # that
    # training has begun lets a rollback find the version it registers.
    in_run = stage(warehouse.resolved(), "training", {"since": time.strftime("%H:%M:%S")})
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = write_artifacts(result, valid.y, Path(tmp))
        decision = log_and_promote(
            result,
            raw_valid,
            valid.y,
            artifacts,
            run_settings.fixed_k,
            mlflow.uri(),
            set_alias=not in_run,
            run_tags=run_tags,
        )
    previous = decision.previous_champion
    if in_run:
        stage(
            warehouse.resolved(),
            "champion",
            {
                "version": decision.version,
                "alias": decision.alias,
                "previous": previous,
                "scoring_version": decision.version if decision.alias == "champion" else previous,
            },
        )
    when = "when the run commits" if in_run else "now"
    context.log.info(
        f"Version {decision.version} becomes @{decision.alias} {when}: {decision.reason}"
    )
    return dg.MaterializeResult(
        metadata={
            "model": MODEL_NAME,
            "version": decision.version,
            "alias": decision.alias,
            "promotion_reason": decision.reason,
            "candidate": result.kind,
            "scoring_model_fitted_at": result.refit_as_of or result.train_as_of,
            **{k: float(v) for k, v in result.metrics.items()},
        }
    )


@dg.asset(
    group_name="modelling",
    kinds={"scikitlearn", "shap", "duckdb"},
    deps=["champion_model", "household_features"],
    pool="warehouse",
)
def household_scores(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    mlflow: MlflowResource,
    run_settings: RunSettings,
):
    """The champion's score for every household at T with its rank, risk tier, top three
    reasons in plain words (for the households that will be read) and a suggested lead
    agency, kept in the warehouse table household_scores."""
    from hearth.publish.ranked import store_scores
    from models.score import score_households

    # the version this run decided on (the alias moves only when the run commits)
    decided = staged(warehouse.resolved()).get("champion") or {}
    model, names, champ = load_champion(mlflow.uri(), decided.get("scoring_version"))
    cap = int(champ.tags.get("recency_cap", 36))
    with warehouse.connect() as con:
        as_of = run_settings.design(con).score_as_of
        feats, _ = load_window(con, as_of)
        ranked = score_households(
            model, names, cap_recency(feats, cap), run_settings.explain_share, recency_cap=cap
        )
        refusal = scores_refusal(ranked["score"].to_numpy(), as_of, str(champ.version))
        if refusal:
            _refuse(refusal)
        store_scores(con, ranked, as_of, champ.version)
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of,
            "households_scored": ranked.height,
            "model_version": champ.version,
        }
    )
