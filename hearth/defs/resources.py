"""Configurable resources. Each is set by environment variables (HEARTH_HOME and friends) with
embedded defaults under HEARTH_HOME, resolved when a run uses it, never at import."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import field_validator

from hearth import settings
from hearth.features.design import Design
from hearth.modelling.registry.client import Registry
from hearth.modelling.registry.promotion import MlflowStore
from hearth.months import parse_month
from hearth.operations.executors import WAREHOUSE_POOL
from hearth.operations.recovery import (
    dagster_run_end,
    guarded_run,
    settle_dead_run,
    shadow_of_run,
)
from hearth.privacy.access import ensure_private_home, inside, private_process, run_path_refusal
from hearth.warehouse import connect


def _run_path(resource: str, value: str | None, configured: Path, env_var: str) -> str | None:
    """Run config may name only places under HEARTH_HOME or the one its environment names
    (anyone who can launch a run in the UI can write run config: hearth/privacy/access.py)."""

    refusal = None if value is None else run_path_refusal(resource, value, configured, env_var)
    if refusal:
        raise ValueError(refusal)
    return value


def _private_run() -> None:
    """The run's files are its owner's only, whoever started it (hearth ui, dagster dev)."""

    private_process()
    ensure_private_home()


class LandingResource(dg.ConfigurableResource):
    """The landing tree that agencies drop extracts into (default HEARTH_HOME/landing)."""

    path: str | None = None

    def resolved(self) -> Path:
        return Path(self.path).resolve() if self.path else settings.landing_dir()

    @field_validator("path")
    @classmethod
    def _path_allowed(cls, value: str | None) -> str | None:
        return _run_path("landing", value, settings.landing_dir(), "HEARTH_LANDING")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        _private_run()


class OutputsResource(dg.ConfigurableResource):
    """Where published lists and reports go (default HEARTH_HOME/outputs)."""

    path: str | None = None

    def resolved(self) -> Path:
        return Path(self.path).resolve() if self.path else settings.outputs_dir()

    @field_validator("path")
    @classmethod
    def _path_allowed(cls, value: str | None) -> str | None:
        return _run_path("outputs", value, settings.outputs_dir(), "HEARTH_OUTPUTS")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        _private_run()


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and registry (default SQLite at HEARTH_HOME/mlflow.db)."""

    tracking_uri: str | None = None

    def uri(self) -> str:
        return self.tracking_uri or settings.mlflow_tracking_uri()

    def registry(self):
        """The one MLflow object (hearth/modelling/registry/client.py) on this resource's store."""

        return Registry(self.uri())

    def model_registry(self):
        """Where the model that scores is read: the partnership's store when this home is an
        authority scoring with the partnership's model (settings.partnership_model_uri), else
        this resource's own. What a run logs (monitoring) stays in its own store."""
        partnership = settings.partnership_model_uri()
        return Registry(partnership) if partnership else self.registry()

    @field_validator("tracking_uri")
    @classmethod
    def _uri_allowed(cls, value: str | None) -> str | None:
        """The tracking URI of the environment (MLFLOW_TRACKING_URI or HEARTH_HOME/mlflow.db),
        or another SQLite store under HEARTH_HOME; never a server or file named by run config."""
        if value is None or value == settings.mlflow_tracking_uri():
            return value

        store = value.removeprefix("sqlite:///")
        if value.startswith("sqlite:///") and inside(Path(store), settings.hearth_home()):
            return value
        raise ValueError(
            f"The run's configuration points the mlflow resource at {value}, not at this "
            f"environment's tracking store ({settings.mlflow_tracking_uri()}); the run was "
            "refused and nothing was read or written. Set MLFLOW_TRACKING_URI where Hearth runs "
            "to use another store."
        )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        _private_run()


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (default HEARTH_HOME/warehouse.duckdb). A run's commit also
    moves its outputs and the champion alias, so it holds the run's `outputs` and `mlflow`
    resources: the same ones the assets get, configured once (`hearth_resources`)."""

    # plain annotations (no `from __future__ import annotations` here): Dagster reads them to
    # find nested resources
    outputs: OutputsResource
    mlflow: MlflowResource
    path: str | None = None
    # Each run works on a copy of the warehouse that replaces it when the run ends, so a killed
    # run leaves it as it was (hearth.operations.recovery); the run lock is held either way.
    atomic_runs: bool = True

    def resolved(self) -> Path:
        return Path(self.path).resolve() if self.path else settings.warehouse_path()

    @field_validator("path")
    @classmethod
    def _path_allowed(cls, value: str | None) -> str | None:
        configured = settings.warehouse_path()
        shadow = f".{configured.name}."  # the run's copy beside it (hearth/operations/recovery.py)
        beside = value is not None and Path(value).resolve().parent == configured.parent
        if beside and Path(value).name.startswith(shadow):
            return value
        return _run_path("warehouse", value, configured, "HEARTH_WAREHOUSE")

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseResource"]:
        """For the length of a run: hold the run lock (a second run waits, never fails on
        DuckDB's file lock) and hand every step the run's shadow copy of the warehouse. At the
        end the run commits, or is rolled back if a signal interrupted it
        (hearth/operations/commit.py)."""

        run = context.run
        if run is None:  # built outside a run (a test's resource context)
            yield self
            return
        # A run whose steps execute in other processes (multiprocess, celery, k8s) is guarded
        # once, by the process that orchestrates it (hearth/defs/jobs.py): a step only works on
        # the shadow that process made.
        shadow = shadow_of_run(self.resolved(), run.run_id)
        if shadow is not None:
            yield self.model_copy(update={"path": str(shadow)})
            return
        say = context.log.info if context.log else None
        with self.guard(run.run_id, run.job_name, context.instance, say) as path:
            yield self.model_copy(update={"path": str(path)})

    @contextmanager
    def guard(self, run_id: str, job_name: str, instance, say=None) -> Iterator[Path]:
        """The run's guard (hearth/operations/recovery.py guarded_run): the run lock, recovery
        of a dead run, the shadow, and the commit or roll back as the run ends."""
        outputs = self.outputs.resolved()
        with guarded_run(
            self.resolved(),
            run_id,
            what=f"Dagster run {run_id[:8]} of {job_name}",
            say=say,
            outputs=outputs if outputs.is_dir() else None,
            models=MlflowStore(self.mlflow.registry()),
            atomic=self.atomic_runs,
            interrupted=lambda dead_run, outcome: settle_dead_run(instance, dead_run, outcome),
            run_end=lambda: dagster_run_end(instance, run_id),
        ) as path:
            release_dead_slots(instance, run_id, say)
            yield path

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.resolved(), read_only=read_only) as con:
            yield con


def release_dead_slots(instance, run_id: str, say=None) -> list[str]:
    """Free the `warehouse` pool's slots held by other runs. Called under the run lock, when no
    other run can be working on the warehouse: such a slot is a dead run's (its process killed
    before Dagster recorded its end), and this run's steps would otherwise wait for it for ever.
    Returns the runs whose slots were freed."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    info = storage.get_concurrency_info(WAREHOUSE_POOL)
    dead = {s.run_id for s in info.claimed_slots} | {p.run_id for p in info.pending_steps}
    dead.discard(run_id)
    for other in sorted(dead):
        storage.free_concurrency_slots_for_run(other)
        if say:
            say(f"Freed the warehouse pool's slot held by run {other[:8]}, which is not running.")
    return sorted(dead)


class PrivateIOManager(dg.FilesystemIOManager):
    """Dagster's file IO manager (default: DAGSTER_HOME/storage), whose `base_dir` run config
    may point only under HEARTH_HOME or DAGSTER_HOME: no step's output is written, or read
    back, from a folder of the caller's choosing."""

    @field_validator("base_dir")
    @classmethod
    def _base_dir_allowed(cls, value: str | None) -> str | None:
        return _run_path("io_manager", value, settings.dagster_home(), "DAGSTER_HOME")


class RunSettings(dg.ConfigurableResource):
    """Choices for one run. `as_of` defaults to the month after the newest extract."""

    as_of: str | None = None
    allow_missing_sources: bool = False
    # The removals an officer accepts for this run: the keys (`source:month:digest`) of the list
    # a stopped run showed (hearth/ingest/removals.py). Exactly these are applied; if the landing
    # no longer fits one, the run stops. The landing sensor's runs never carry any.
    accept_removals: list[str] = []
    # The officer's word for one run: a month's volume within this many times its baseline is
    # in line, whatever each source's contract (volumeExpectation) says. None: the contracts'.
    volume_tolerance: float | None = None
    fixed_k: int = 1000

    @field_validator("as_of")
    @classmethod
    def _as_of_is_a_month(cls, value: str | None) -> str | None:
        """A launchpad's `2026/01` or `2026-13` is refused as the run starts, in a sentence."""

        return None if value is None else parse_month(value, "as-of month (run_settings.as_of)")

    def design(self, con: duckdb.DuckDBPyConnection) -> Design:
        """The run's temporal design (hearth/features/design.py): scoring at `as_of`, or by
        default at the month after the newest extract landed and accepted."""
        return Design.for_run(con, self.as_of)


def warehouse_from_run_config(run_config: dict) -> WarehouseResource:
    """The warehouse resource a run's steps will get, built from its run config as Dagster
    builds it (the same checks on every path), for the process that orchestrates the run."""
    given = run_config.get("resources") or {}

    def config(name: str) -> dict:
        return dict((given.get(name) or {}).get("config") or {})

    return WarehouseResource(
        outputs=OutputsResource(**config("outputs")),
        mlflow=MlflowResource(**config("mlflow")),
        **config("warehouse"),
    )


def hearth_resources() -> dict[str, dg.ConfigurableResource | dg.IOManager]:
    """The resources every stage shares. `outputs` and `mlflow` are configured at launch and
    shared with the warehouse, so run config for them reaches the run's commit too (a nested
    resource built in place would keep its defaults whatever the run config said)."""
    outputs = OutputsResource.configure_at_launch()
    mlflow = MlflowResource.configure_at_launch()
    return {
        "warehouse": WarehouseResource(outputs=outputs, mlflow=mlflow),
        "landing": LandingResource(),
        "outputs": outputs,
        "mlflow": mlflow,
        "run_settings": RunSettings(),
        "io_manager": PrivateIOManager(),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=hearth_resources())
