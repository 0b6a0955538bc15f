"""Retention in the model registry: a model version whose training data is all past the
shortest retention goes with that data (hearth/quality/retention.py says the rule).

A version's data window ends at the newest month of records it was trained on: its validation
date plus the 12 months of labels after it, or its refit date if later (the run's parameters
`valid_as_of`, `refit_as_of`). A version whose window ended before the cut-off month is
deleted from the registry, its MLflow run deleted, and the run's and the logged model's
artifact folders removed when they are under HEARTH_HOME/mlartifacts (a shared tracking
server keeps its own files: its administrator runs `mlflow gc`). Never a version holding an
alias (`@champion`, `@challenger`), nor the newest version. Run at the run's commit, through
`ModelStore.expire_versions` (hearth/operations/model_store.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from hearth import settings
from hearth.months import add_months
from models.registry import MODEL_NAME, Registry


def data_window_end(params: dict[str, str]) -> str | None:
    """The newest month of records a version was trained on (YYYY-MM), None if unknown."""
    valid = params.get("valid_as_of")
    if not valid:
        return None
    refit = params.get("refit_as_of")
    ends = [add_months(valid, 12)] + ([refit] if refit and refit != "none" else [])
    return max(ends)


def _local(uri: str | None) -> Path | None:
    """A file artifact location under this home's mlartifacts/, else None."""
    if not uri:
        return None
    parsed = urlparse(uri)
    path = Path(unquote(parsed.path)) if parsed.scheme in ("", "file") else None
    root = settings.mlflow_artifact_root().resolve()
    if path is None or not path.resolve().is_relative_to(root) or path.resolve() == root:
        return None
    return path


def expire_versions(registry: Registry, cutoff_month: str) -> list[str]:
    """Delete the versions whose data window ended before `cutoff_month`; the versions deleted."""
    client = registry.client
    versions = registry.versions()
    if not versions:
        return []
    newest = versions[-1].version
    held = set(registry.aliases().values())
    gone = []
    for mv in versions:
        if str(mv.version) in held or mv.version == newest or not mv.run_id:
            continue
        run = client.get_run(mv.run_id)
        end = data_window_end(run.data.params)
        if end is None or end >= cutoff_month:
            continue
        folders = [_local(run.info.artifact_uri)]
        model_id = getattr(mv, "model_id", None)
        if model_id:
            folders.append(_local(client.get_logged_model(model_id).artifact_location))
        client.delete_model_version(MODEL_NAME, str(mv.version))
        if model_id:
            client.delete_logged_model(model_id)
        client.delete_run(mv.run_id)
        for folder in folders:
            if folder is not None:
                # the run's folder, not just its artifacts/ (a model's folder likewise)
                target = folder.parent if folder.name == "artifacts" else folder
                shutil.rmtree(target, ignore_errors=True)
        gone.append(str(mv.version))
    return gone
