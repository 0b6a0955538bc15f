"""Configurable resources. Each is set by environment variables (HEARTH_HOME and friends) with
embedded defaults under HEARTH_HOME, resolved when a run uses it, never at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from hearth import settings
from hearth.warehouse import connect


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (default HEARTH_HOME/warehouse.duckdb)."""

    path: str | None = None

    def resolved(self) -> Path:
        return Path(self.path).resolve() if self.path else settings.warehouse_path()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.resolved(), read_only=read_only) as con:
            yield con


class LandingResource(dg.ConfigurableResource):
    """The landing tree that agencies drop extracts into (default HEARTH_HOME/landing)."""

    path: str | None = None

    def resolved(self) -> Path:
        return Path(self.path).resolve() if self.path else settings.landing_dir()


class OutputsResource(dg.ConfigurableResource):
    """Where published lists and reports go (default HEARTH_HOME/outputs)."""

    path: str | None = None

    def resolved(self) -> Path:
        return Path(self.path).resolve() if self.path else settings.outputs_dir()


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and registry (default SQLite at HEARTH_HOME/mlflow.db)."""

    tracking_uri: str | None = None

    def uri(self) -> str:
        return self.tracking_uri or settings.mlflow_tracking_uri()


class RunSettings(dg.ConfigurableResource):
    """Choices for one run. `as_of` defaults to the month after the newest extract."""

    as_of: str | None = None
    allow_missing_sources: bool = False
    volume_tolerance: float = 3.0
    fixed_k: int = 1000
    explain_share: float = 0.05
