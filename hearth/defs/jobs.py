"""The job `hearth run`, the sensor and the schedule launch: every asset, ingest first; and the
executor that runs its steps, chosen by run config per deployment (hearth/operations/executors.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
from dagster._core.executor.base import Executor
from dagster._core.instance.config import PoolGranularity
from dagster_celery import celery_executor
from dagster_k8s import k8s_job_executor

# Each executor's own config schema, under its name: `execution: config: {celery: {broker: ...}}`.
_CHOICES = {
    "in_process": dg.in_process_executor,
    "multiprocess": dg.multiprocess_executor,
    "celery": celery_executor,
    "k8s": k8s_job_executor,
}


def _schema(executor_def: dg.ExecutorDefinition) -> dg.Field:
    field = executor_def.config_schema.as_field()
    return dg.Field(field.config_type, is_required=False, default_value=field.default_value)


_SCHEMA = dg.Field(
    dg.Selector({name: _schema(d) for name, d in _CHOICES.items()}),
    default_value={"in_process": {"retries": {"enabled": {}}}},
    description="Where the steps run: in_process (default), multiprocess (one machine), celery "
    "(workers on several machines), k8s (a Kubernetes Job per step). docs/operations.md.",
)


def _requirements(config: dict) -> list:
    name = next(iter(config))
    return [] if name == "in_process" else dg.multiple_process_executor_requirements()


NOT_PER_STEP = (
    "The {name} executor runs steps at the same time, but this Dagster instance limits its pools "
    "per run (concurrency: pools: granularity: run), so two steps could open the warehouse at "
    "once. Set `granularity: op` under concurrency: pools in dagster.yaml (Hearth's own copy "
    "does), or run with --executor in_process."
)


class GuardedExecutor(Executor):
    """Another executor, with the run guarded once by the process that orchestrates it: the run
    lock, recovery, the warehouse's shadow and the commit (hearth/operations/recovery.py). Steps
    executing in other processes find the shadow through the run's marker."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def __getattr__(self, name: str):  # e.g. dagster-celery reads `app_args()` off the executor
        return getattr(self._inner, name)

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
        from hearth.defs.resources import warehouse_from_run_config  # its checks, run config's

        run = plan_context.dagster_run
        warehouse = warehouse_from_run_config(run.run_config)
        with warehouse.guard(
            run.run_id, run.job_name, plan_context.instance, plan_context.log.info
        ):
            yield from self._inner.execute(plan_context, execution_plan)


@dg.executor(name="hearth", config_schema=_SCHEMA, requirements=_requirements)
def hearth_executor(init_context) -> Executor:
    """Dagster's in-process or multiprocess executor, dagster-celery's or dagster-k8s's, by run
    config. In-process, the warehouse resource guards the run itself (as it always has); the
    others are wrapped in `GuardedExecutor`, and need the instance to limit pools per step so
    that steps in pool `warehouse` never overlap."""
    name, config = next(iter(init_context.executor_config.items()))
    inner_def = _CHOICES[name]
    inner_context = init_context._replace(executor_config=config, executor_def=inner_def)  # noqa: SLF001
    inner = inner_def.executor_creation_fn(inner_context)
    if name == "in_process":
        return inner
    granularity = init_context.instance.event_log_storage.get_pool_config().pool_granularity
    if granularity != PoolGranularity.OP:
        raise dg.DagsterInvalidConfigError(NOT_PER_STEP.format(name=name), [], config)
    return GuardedExecutor(inner)


hearth_full_run = dg.define_asset_job(
    "hearth_full_run",
    selection=dg.AssetSelection.all(),
    description="Ingest the landed months, check, link, build features, train, score, publish.",
    # In-process unless run config picks another executor (`hearth run --executor`). Whatever
    # runs the steps, DuckDB takes one writer per file: every step that opens the warehouse is in
    # pool `warehouse`, one step at a time. The run holds the warehouse (and the run lock) from
    # its first step to its last; see hearth/operations/recovery.py.
    executor_def=hearth_executor,
)


# A partnership's authority runs in two parts around the one partnership model (issue 28,
# hearth/operations/partnership.py): everything the model does not need first, then the model
# step (which, in a partnership, names the partnership's champion: it trains nothing), the
# scores and the list. The two together are the full run.
_SCORING = dg.AssetSelection.assets("champion_model").downstream()

hearth_prepare = dg.define_asset_job(
    "hearth_prepare",
    selection=dg.AssetSelection.all() - _SCORING,
    description="A partnership authority's first part: ingest, check, link, features and labels "
    "(everything the partnership model is trained from).",
    executor_def=hearth_executor,
)

hearth_score = dg.define_asset_job(
    "hearth_score",
    selection=_SCORING,
    description="A partnership authority's second part: its households scored by the "
    "partnership's champion, the list published.",
    executor_def=hearth_executor,
)


@dg.definitions
def jobs() -> dg.Definitions:
    return dg.Definitions(jobs=[hearth_full_run, hearth_prepare, hearth_score])
