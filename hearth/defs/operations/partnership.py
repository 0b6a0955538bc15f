"""A partnership's run as one Dagster job (issue 28): the landing routed once, one mapped step per
authority that prepares it, the partnership model once (in steps: the windows, one mapped step
per candidate's fit or fold of a fit, the choice, one mapped step per unit of the chosen
candidate's refit then its folds pooled, beside one mapped step per group of value-of-sharing
refits, and the registration), one mapped step per authority that scores it, and the summary.
The authorities are read from the landing's area lookup when the run starts (Dagster dynamic
outputs), never when these definitions load.

Each authority's step runs that authority's own `hearth run --part prepare|score` as a child
process in its own home (its own DuckDB file, Dagster instance, outputs and run lock): two
processes cannot write one DuckDB file, and each council is its own data controller. Dagster's
executor schedules the steps (`hearth partnership run --executor`): how many authorities run at
once is the executor's concurrency, not a thread pool of Hearth's.

A step whose authority stopped (its run failed or was killed) succeeds as a step and records the
outcome (metadata `outcome: stopped`), so that the model and the other authorities' steps go on:
a failed step would skip everything downstream of the collect. The summary step fails the run
when any authority stopped, after writing the summary. Logic: hearth/operations/partnership.py.
"""

from collections.abc import Iterator

import dagster as dg
from dagster._core.executor.base import Executor

from hearth import settings
from hearth.defs.jobs import _CHOICES, GuardedExecutor, _requirements, _schema
from hearth.defs.modelling.assets import TrainConfig
from hearth.defs.resources import LandingResource
from hearth.linkage.partnership import PartnershipError
from hearth.operations import partnership as p
from hearth.operations import partnership_model as pm
from hearth.operations.runlock import run_lock

JOB_NAME = "hearth_partnership"
EXECUTORS = ("in_process", "multiprocess", "celery")  # k8s: not yet for a partnership
DEFAULT_EXECUTION = {"multiprocess": {}}  # one machine: one process per step


class LockedExecutor(GuardedExecutor):
    """Another executor, with the partnership's run lock held by the process that orchestrates
    the run from its first step to its last, however the run was launched (`hearth partnership
    run`, the UI): two partnership runs would route into, and train from, the same homes. The
    steps take no lock of the partnership's; each authority's own run takes its own."""

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
        with run_lock(settings.partnership_dir(), p.LOCK_WHAT, plan_context.log.info):
            yield from self._inner.execute(plan_context, execution_plan)


@dg.executor(
    name="hearth_partnership",
    config_schema=dg.Field(
        dg.Selector({name: _schema(_CHOICES[name]) for name in EXECUTORS}),
        default_value=DEFAULT_EXECUTION,
        description="Where the partnership's steps run: multiprocess (default, one machine; "
        "max_concurrent: authorities at once), in_process (one after another), celery "
        "(workers on several machines). docs/operations.md.",
    ),
    requirements=_requirements,
)
def partnership_executor(init_context) -> Executor:
    """Dagster's multiprocess or in-process executor, or dagster-celery's, by run config, under
    the partnership's run lock."""
    name, config = next(iter(init_context.executor_config.items()))
    inner_def = _CHOICES[name]
    inner_context = init_context._replace(executor_config=config, executor_def=inner_def)  # noqa: SLF001
    return LockedExecutor(inner_def.executor_creation_fn(inner_context))


class RouteConfig(dg.Config):
    """Which authorities run (their ONS codes; empty: every LA row of the landing's
    reference/areas.csv), and whether the landing is routed first (else the authorities'
    landings as the last routing left them)."""

    authorities: list[str] = []
    route: bool = True


class AuthorityConfig(dg.Config):
    """Settings of each authority's own `hearth run`."""

    allow_missing_sources: bool = False


class ModelConfig(dg.Config):
    """The partnership model's step: retrain (default: when every authority runs), the
    completeness rule's minimum share of households (default: every authority), and the
    training settings (as for `hearth run`)."""

    retrain: bool | None = None
    min_share: float | None = None
    train: TrainConfig | None = None


def _failure(e: Exception) -> dg.Failure:
    return dg.Failure(description=str(e), allow_retries=False)


@dg.op(
    out={"plan": dg.Out(p.PartnershipPlan), "authority": dg.DynamicOut(str)},
    tags={"hearth/partnership": "route"},
)
def route_partnership_landing(
    context: dg.OpExecutionContext, config: RouteConfig, landing: LandingResource
):
    """Read the partnership's authorities from the landing's area lookup and route its landing
    into each authority's own (records that share no key routed by the partnership's linkage);
    one dynamic output per authority that runs. A file of the landing no authority could be
    given stops the run here: no authority runs until it is sorted out."""
    try:
        plan = p.plan_partnership(
            landing.resolved(), config.authorities or None, config.route, context.log.info
        )
    except (PartnershipError, ValueError) as e:
        raise _failure(e) from None
    if plan.blocking:
        raise dg.Failure(
            description=" ".join(plan.blocking),
            metadata={"not_routed_files": len(plan.blocking)},
            allow_retries=False,
        )
    yield dg.Output(
        plan,
        "plan",
        metadata={
            "authorities": ", ".join(plan.names),
            "routed": plan.routed,
            "routing_problems": len(plan.problems),
        },
    )
    for authority in plan.names:  # ONS codes: letters and digits, valid mapping keys
        yield dg.DynamicOutput(authority, mapping_key=authority, output_name="authority")


def _outcome(context: dg.OpExecutionContext, run: p.AuthorityRun, part: str) -> dg.Output:
    done = run.prepared if part == "prepare" else run.published
    meta: dict = {
        "authority": run.authority,
        "outcome": ("prepared" if part == "prepare" else "published") if done else "stopped",
        "seconds": run.seconds,
        "home": dg.MetadataValue.path(run.home),
    }
    if done:
        context.log.info(f"{run.authority}: {part} done in {run.seconds:.0f} s.")
    else:  # the authority's own sentences (Hearth's messages carry no value of a record)
        meta["why"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in run.why))
        context.log.error(f"{run.authority}: its {part} part stopped; the others go on.")
    if run.model_version:
        meta["model_version"] = run.model_version
    return dg.Output(run, metadata=meta)


@dg.op(tags={"hearth/partnership": "authority"})
def prepare_authority(
    context: dg.OpExecutionContext,
    config: AuthorityConfig,
    authority: str,
    plan: p.PartnershipPlan,
) -> dg.Output[p.AuthorityRun]:
    """One authority's first part in its own home (`hearth run --part prepare`: ingest, check,
    link, features and labels). Its stopping is recorded, not raised: the others go on."""
    run = p.prepare_authority(authority, plan, config.allow_missing_sources)
    return _outcome(context, run, "prepare")


MODEL_TAGS = {"hearth/partnership": "model"}
# The refit's steps are the model's critical path after the choice: the executor starts them
# before the value-of-sharing refits when both are ready (Dagster orders ready steps by it).
REFIT_TAGS = MODEL_TAGS | {"dagster/priority": "1"}


@dg.op(
    out={"training": dg.Out(pm.ModelTraining), "candidate": dg.DynamicOut(str)},
    tags=MODEL_TAGS,
)
def partnership_model(
    context: dg.OpExecutionContext,
    config: ModelConfig,
    plan: p.PartnershipPlan,
    prepared: list[p.AuthorityRun],
):
    """The partnership's one model, once every authority's first part has ended: whether it
    is retrained (the completeness rule on the union of the ready authorities' feature sets;
    else the last model stays @champion, and the sentence says which and why), and when it is,
    the windows read and made safe into HEARTH_HOME/partnership/model_work/<run id>; one dynamic
    output per candidate's fit, each a step of its own (hearth/modelling/training/staged.py),
    the trees' cross-fit as one per fold."""
    train = config.train.model_dump() if config.train is not None else None
    try:
        rule, retrain = p.partnership_model_rule(plan, prepared, config.retrain, config.min_share)
        work = pm.model_work_dir(context.run_id)
        training, units = pm.begin_partnership_model(rule, retrain, train, work, context.log.info)
    except ValueError as e:  # e.g. a minimum share outside (0, 1]
        raise _failure(e) from None
    yield dg.Output(
        training,
        "training",
        metadata={"retrain": training.model is None, "rule_holds": rule.holds, "fits": len(units)},
    )
    for unit in units:  # letters and underscores: valid mapping keys
        yield dg.DynamicOutput(unit, mapping_key=unit, output_name="candidate")


def _fit(context: dg.OpExecutionContext, training: pm.ModelTraining, unit: str) -> dg.Output:
    try:
        pm.fit_partnership_unit(training, unit, context.log.info)
    except ValueError as e:
        raise _failure(e) from None
    return dg.Output(unit, metadata={"unit": unit})


@dg.op(tags=MODEL_TAGS)
def partnership_model_candidate(
    context: dg.OpExecutionContext, training: pm.ModelTraining, unit: str
) -> dg.Output[str]:
    """One candidate's fit (cross-fitted as the recipe fits it), or one fold of the trees'
    cross-fit, read from and written to the model's folder; the candidates' steps run at once
    as the executor allows."""
    return _fit(context, training, unit)


@dg.op(
    out={
        "training": dg.Out(pm.ModelTraining),
        "refit": dg.DynamicOut(str),
        "sharing": dg.DynamicOut(str),
    },
    tags=MODEL_TAGS,
)
def partnership_model_choice(
    context: dg.OpExecutionContext, training: pm.ModelTraining, fitted: list[str]
):
    """The trees' folds pooled (their out-of-fold scores give the kept count of iterations;
    the trees fitted at it on every household), the candidates put together, judged on the
    validation year and the choice made; dynamic outputs for the fits that follow from it,
    independent of each other: the chosen candidate's refit on the newest year (a unit of its
    fit, or a fold of the trees'), and the value-of-sharing refits (in groups)."""
    try:
        refits, sharing = pm.choose_partnership_model(training, context.log.info)
    except ValueError as e:
        raise _failure(e) from None
    meta = {"candidates": len(fitted), "refit_fits": len(refits), "sharing_fits": len(sharing)}
    yield dg.Output(training, "training", metadata=meta)
    for name, units in (("refit", refits), ("sharing", sharing)):
        for unit in units:
            yield dg.DynamicOutput(unit, mapping_key=unit, output_name=name)


@dg.op(tags=REFIT_TAGS)
def partnership_model_fit(
    context: dg.OpExecutionContext, training: pm.ModelTraining, unit: str
) -> dg.Output[str]:
    """One fit of the chosen candidate's refit on the newest year: a unit of its fit, or a fold
    of the trees' cross-fit; at once as the executor allows."""
    return _fit(context, training, unit)


@dg.op(tags=REFIT_TAGS)
def partnership_model_refit(
    context: dg.OpExecutionContext, training: pm.ModelTraining, fitted: list[str]
) -> dg.Output[list[str]]:
    """The refit's folds pooled once every one is fitted: the kept count of iterations from
    their out-of-fold scores, the trees fitted at it on every household of the newest year
    (nothing when the refit was not fitted in folds); beside the value-of-sharing refits."""
    try:
        pm.pool_partnership_refit(training, context.log.info)
    except ValueError as e:
        raise _failure(e) from None
    return dg.Output(fitted, metadata={"fits": len(fitted)})


@dg.op(tags=MODEL_TAGS)
def partnership_model_sharing(
    context: dg.OpExecutionContext, training: pm.ModelTraining, unit: str
) -> dg.Output[str]:
    """One group of the value-of-sharing refits; at once as the executor allows."""
    return _fit(context, training, unit)


@dg.op(
    out={"model": dg.Out(), "ready": dg.DynamicOut(str)},
    tags=MODEL_TAGS,
)
def partnership_model_registered(
    context: dg.OpExecutionContext,
    training: pm.ModelTraining,
    prepared: list[p.AuthorityRun],
    refitted: list[str],
    shared: list[str],
):
    """The value-of-sharing table, the gate, the refit put together, the card and the version
    registered in the partnership's MLflow (@champion at once if the gate's rule says so); or
    what the first step decided. One dynamic output per authority that prepared, to be scored
    with the @champion."""
    model = pm.finish_partnership_model(training, context.log.info)
    record = model.as_record()
    yield dg.Output(
        model,
        "model",
        metadata={
            "retrained": model.retrained,
            "rule_holds": record["rule_holds"],
            "champion_version": str(model.version),
            "sentence": record["sentence"],
            "fits": len(refitted) + len(shared),
        },
    )
    for authority in p.ready_to_score(prepared, model):
        yield dg.DynamicOutput(authority, mapping_key=authority, output_name="ready")


@dg.op(tags={"hearth/partnership": "authority"})
def score_authority(
    context: dg.OpExecutionContext,
    config: AuthorityConfig,
    authority: str,
    plan: p.PartnershipPlan,
) -> dg.Output[p.AuthorityRun]:
    """One authority's second part in its own home (`hearth run --part score`): its households
    scored with the partnership's @champion, its own list published. Recorded, not raised."""
    run = p.score_authority(authority, plan, config.allow_missing_sources)
    return _outcome(context, run, "score")


@dg.op(tags={"hearth/partnership": "summary"})
def partnership_summary(
    context: dg.OpExecutionContext,
    plan: p.PartnershipPlan,
    prepared: list[p.AuthorityRun],
    model,
    scored: list[p.AuthorityRun],
) -> dg.Output[list[str]]:
    """HEARTH_HOME/partnership/run_summary.json: each authority's outcome, the model's step and
    the routing's counts. Written first; then the run fails if any authority stopped (its list
    stays as it was; the others have published)."""
    runs = p.write_summary(plan, prepared, scored, model, context.log.info, context.run_id)
    published = [r.authority for r in runs if r.published]
    stopped = [r.authority for r in runs if not r.published]
    path = settings.partnership_dir() / "run_summary.json"
    if stopped:
        others = "the others published" if published else "none published"
        raise dg.Failure(
            description=f"{len(stopped)} authorit{'y' if len(stopped) == 1 else 'ies'} "
            f"stopped: {', '.join(stopped)}; {others}. Each one's reasons are in {path}.",
            metadata={"published": ", ".join(published), "stopped": ", ".join(stopped)},
            allow_retries=False,
        )
    return dg.Output(
        published,
        metadata={"published": ", ".join(published), "summary": dg.MetadataValue.path(str(path))},
    )


@dg.job(
    name=JOB_NAME,
    description="A partnership of authorities: route the partnership's landing, prepare each "
    "authority in its own home (a step each, side by side), train the partnership model once "
    "when its completeness rule holds (its candidates' fits and the trees' folds, then its "
    "refit's and the value-of-sharing fits, steps side by side), score and publish each "
    "authority's own list (a step each), and write the partnership's summary. One authority "
    "stopping leaves the others' lists published. `hearth partnership run`; README, "
    "'A partnership of authorities'.",
    executor_def=partnership_executor,
)
def hearth_partnership() -> None:
    plan, authorities = route_partnership_landing()
    prepared = authorities.map(lambda a: prepare_authority(a, plan)).collect()
    training, candidates = partnership_model(plan, prepared)
    fitted = candidates.map(lambda u: partnership_model_candidate(training, u)).collect()
    chosen, refits, sharing = partnership_model_choice(training, fitted)
    refit = partnership_model_refit(
        chosen, refits.map(lambda u: partnership_model_fit(chosen, u)).collect()
    )
    shared = sharing.map(lambda u: partnership_model_sharing(chosen, u)).collect()
    model, ready = partnership_model_registered(chosen, prepared, refit, shared)
    scored = ready.map(lambda a: score_authority(a, plan)).collect()
    partnership_summary(plan, prepared, model, scored)


@dg.definitions
def partnership_job() -> dg.Definitions:
    return dg.Definitions(jobs=[hearth_partnership])
