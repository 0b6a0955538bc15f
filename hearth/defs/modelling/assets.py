"""Train, evaluate, register and promote; then score every household with the champion."""

from typing import NoReturn

import dagster as dg

from hearth import settings
from hearth.defs.resources import MlflowResource, RunSettings, WarehouseResource
from hearth.features.build import load_window
from hearth.features.design import cap_recency
from hearth.modelling.evaluation.gate import Refusal, scores_refusal
from hearth.modelling.holdout import HoldoutError
from hearth.modelling.registry.client import MODEL_NAME
from hearth.modelling.scoring.holdout_run import (
    decide_holdout,
    describe_entries,
    held_out_households,
)
from hearth.modelling.scoring.monitoring import monitor_month, monitoring_metrics
from hearth.modelling.scoring.ranking import store_scores, top_count
from hearth.modelling.training.params import TrainParams, config_fields
from hearth.modelling.training.recipe import Refused, train_champion
from hearth.operations.commit import stage, staged
from hearth.privacy.holdout_audit import record_holdout
from hearth.publish.deliver import shown_by_default
from hearth.publish.ranked import publish_top


def _refuse(refusal: Refusal) -> NoReturn:
    """Stop the run with the gate's sentence (no traceback in `hearth run`'s problem list)."""
    raise dg.Failure(
        description=refusal.sentence,
        metadata={"gate_rule": refusal.rule, **refusal.metadata},
        allow_retries=False,
    )


# The launchpad's training settings, generated from hearth/modelling/training/params.py:TrainParams
# (declared once).
TrainConfig = type(
    "TrainConfig",
    (dg.Config,),
    {
        "__doc__": (
            "Hyperparameters of the candidates (hearth/modelling/training/params.py: TrainParams)."
        ),
        "__annotations__": {name: kind for name, (kind, _) in config_fields().items()},
        **{name: default for name, (_, default) in config_fields().items()},
    },
)


@dg.asset(
    group_name="modelling",
    kinds={"scikitlearn", "mlflow"},
    deps=["household_features", "crisis_labels"],
    pool="warehouse",
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
    moves when the run commits. A version that cannot rank (hearth/modelling/evaluation/gate.py)
    stops the run. An authority of a partnership (HEARTH_PARTNERSHIP_MODEL set by `hearth
    partnership run`) trains nothing here: the partnership's model, trained once on every
    authority's households, is its champion, and this step names it."""

    if settings.partnership_model_uri():
        return _partnership_champion(context, mlflow)
    with warehouse.connect(read_only=True) as con:
        design = run_settings.design(con)
    try:
        trained = train_champion(
            lambda: warehouse.connect(read_only=True),
            design,
            TrainParams.from_config(config),
            run_settings.fixed_k,
            mlflow.uri(),
            lambda key, value: stage(warehouse.resolved(), key, value),
            {"dagster_run_id": context.run_id},
            info=context.log.info,
            warn=context.log.warning,
        )
    except Refused as e:
        _refuse(e.refusal)
    result, decision = trained.result, trained.decision
    context.log.info(
        f"Version {decision.version} becomes @{decision.alias} {trained.alias_moves}: "
        f"{decision.reason}"
    )
    return dg.MaterializeResult(
        metadata={
            "model": MODEL_NAME,
            "version": decision.version,
            "alias": decision.alias,
            "promotion_reason": decision.reason,
            "candidate": result.kind,
            "contact_count_ranking": bool(result.contact_count_fallback),
            "scoring_model_fitted_at": result.refit_as_of or result.train_as_of,
            **{k: float(v) for k, v in result.metrics.items()},
        }
    )


def _partnership_champion(
    context: dg.AssetExecutionContext, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """The partnership's @champion, named for this authority's run (nothing trained, nothing
    staged: the partnership's alias moves only when the partnership trains)."""
    champ = mlflow.model_registry().champion()
    if champ is None:
        raise dg.Failure(
            description="This authority scores with its partnership's model, and the "
            "partnership has none yet: it is trained when the partnership's completeness rule "
            "holds (docs/operations.md, A partnership of authorities).",
            allow_retries=False,
        )
    context.log.info(f"The partnership's model, version {champ.version}, scores this authority.")
    return dg.MaterializeResult(
        metadata={
            "model": MODEL_NAME,
            "version": str(champ.version),
            "alias": "champion",
            "promotion_reason": "the partnership's model, trained on every authority's households",
            "partnership": True,
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
    """The champion's score for every household at T with its rank and risk tier, kept in the
    warehouse table household_scores; for the ranks the published outputs show by default
    (`explained_to` in the metadata: the published top past its held-out households, the
    report's table), the top three reasons in plain words, a suggested lead agency and the
    other services with a part. Beyond it the words are null until a longer list is asked for
    (`hearth publish --top N`), which explains those ranks from the kept model and features.
    Monitoring between months (hearth/modelling/scoring/monitoring.py): the overlap with last
    month's list and why it changed, and the shift of the scores and features from the
    champion's training window, logged to MLflow."""
    from hearth.modelling.scoring.score import scored  # sklearn

    # the version this run decided on (the alias moves only when the run commits)
    decided = staged(warehouse.resolved()).get("champion") or {}
    model, names, champ = mlflow.model_registry().load_champion(decided.get("scoring_version"))
    cap = int(champ.tags.get("recency_cap", 36))
    with warehouse.connect() as con:
        as_of = run_settings.design(con).score_as_of
        feats, _ = load_window(con, as_of)
        feats = cap_recency(feats, cap)
        # scores and ranks at once; the words a chunk at a time, each kept as it is explained
        # (the whole list with its words never in memory)
        scoring = scored(
            model,
            names,
            feats,
            recency_cap=cap,
            progress=lambda done, total: context.log.info(
                f"Kept {done:,} of {total:,} households (the first ones explained)."
            ),
        )
        ranked = scoring.ranking  # household_pid, rank, score
        refusal = scores_refusal(ranked["score"].to_numpy(), as_of, str(champ.version))
        if refusal:
            _refuse(refusal)
        # the hold-out of this generation's list (issue 26): drawn over the published top's
        # capacity, kept in the warehouse; publish leaves the held-out households off the list
        try:
            top = publish_top()
            holdout = decide_holdout(
                con, ranked, as_of, f"v{champ.version}", top_count(top, ranked.height)
            )
        except (HoldoutError, ValueError) as e:
            raise dg.Failure(description=str(e), allow_retries=False) from None
        # words for the ranks the published outputs show by default (the published top past
        # its held-out households, the report's table); the rest scored and ranked, explained
        # when a longer list is asked for (hearth/modelling/scoring/on_demand.py)
        reach = shown_by_default(ranked, held_out_households(con, as_of), top)
        context.log.info(f"Explaining the first {reach:,} of {ranked.height:,} households.")
        store_scores(con, scoring.explained(reach), as_of, champ.version)
        describe_entries(con, as_of)  # each lottery entrant's lead and first reason
        tags = {"dagster_run_id": context.run_id}
        report = monitor_month(
            con,
            ranked,
            as_of,
            feats,
            model,
            names,
            champ,
            cap,
            mlflow.model_registry(),
            tags,
            log_to=mlflow.registry(),
        )
    record_holdout(holdout)  # a lottery drawn: the audit keeps its settings and approval
    context.log.info(holdout.sentence())
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of,
            "households_scored": ranked.height,
            # how far the kept list is explained: ranks 1..explained_to have their words
            "explained_to": reach,
            "model_version": champ.version,
            "holdout_households": holdout.held_out,
            "holdout_share": holdout.share,
            **{k: v for k, v in monitoring_metrics(report).items() if "feature_psi" not in k},
        }
    )
