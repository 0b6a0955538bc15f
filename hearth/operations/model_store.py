"""What a run's commit and recovery need of the model registry, as an interface.

The operations stage moves `@champion` at commit, tags the versions of a run that never
committed and ends MLflow training runs a killed run left open, but it does not import the
registry: `models/promotion.py:MlflowStore` implements this, and the Dagster code that builds
a run (pipelines/) hands it in. So the library stays below the models in the import graph."""

from __future__ import annotations

from typing import Protocol


class ModelStore(Protocol):
    def apply_decision(self, decision: dict, run_id: str) -> str | None:
        """Give the version the alias its run decided on; a note when that changed."""

    def disown_versions(self, run_id: str, why: str, previous: str | None = None) -> list[str]:
        """Tag the versions a run registered that never committed; the versions tagged."""

    def end_stale_runs(self) -> int:
        """Mark training runs left RUNNING by a killed run as KILLED; how many."""

    def expire_versions(self, cutoff_month: str) -> list[str]:
        """Delete the versions whose training data all predate `cutoff_month` (retention;
        never one holding an alias, nor the newest); the versions deleted."""
