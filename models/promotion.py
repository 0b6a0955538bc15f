"""The registry side of a run's commit (hearth/operations/commit.py): the alias a run decided on
moves only
when the run commits, and the versions of a run that never committed are marked as such.

A pipeline run registers its version while it trains (so its outputs can name it) but leaves
the aliases alone; `apply_decision` moves `@champion` (or `@challenger`) when the run commits,
and again - harmlessly - if a commit is rolled forward. `disown_versions` tags every version
registered by a run that was rolled back or stopped, so `hearth models list` and the MLflow UI
show it was never promoted."""

from __future__ import annotations

import re

from models.registry import EXPERIMENT, MODEL_NAME, current_champion, mlflow_client

RUN_TAG = "dagster_run_id"  # on each MLflow training run: the Dagster run that trained it
_DAGSTER_RUN_ID = re.compile(r"[0-9a-f-]{8,64}")


def apply_decision(decision: dict, tracking_uri: str, run_id: str) -> str | None:
    """Give the version the alias its run decided on. A champion changed by hand while the run
    trained is respected: the version is then @challenger. Returns a note when that happens."""
    _, client = mlflow_client(tracking_uri)
    version, alias = str(decision["version"]), decision["alias"]
    current = current_champion(client)
    now = str(current.version) if current is not None else None
    note = None
    if alias == "champion" and now not in (decision.get("previous"), version):
        alias = "challenger"
        reason = f"challenger: version {now} was made @champion by hand while this run trained"
        client.set_model_version_tag(MODEL_NAME, version, "promotion", reason)
        note = (
            f"Version {version} was to become @champion, but version {now} was promoted by hand "
            "during the run; it is @challenger."
        )
    client.set_registered_model_alias(MODEL_NAME, alias, version)
    client.set_model_version_tag(MODEL_NAME, version, "hearth.committed", f"Dagster run {run_id}")
    return note


def disown_versions(
    dagster_run_id: str, why: str, tracking_uri: str, previous: str | None = None
) -> list[str]:
    """Tag the versions registered by a Dagster run that did not commit (and end its MLflow
    training runs if they were left running). A version that somehow holds an alias gives it
    back: @champion returns to `previous`. Returns the versions tagged."""
    if not _DAGSTER_RUN_ID.fullmatch(dagster_run_id):
        return []
    _, client = mlflow_client(tracking_uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        return []
    # the id is checked above to be a Dagster run id: nothing else can reach the filter
    runs = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.{RUN_TAG} = '{dagster_run_id}'"
    )
    for r in runs:
        client.set_tag(r.info.run_id, "hearth.interrupted", why)
        if r.info.status == "RUNNING":
            client.set_terminated(r.info.run_id, status="KILLED")
    ids = {r.info.run_id for r in runs}
    if not ids:
        return []
    aliases = client.get_registered_model(MODEL_NAME).aliases or {}
    tagged = []
    for mv in client.search_model_versions(f"name='{MODEL_NAME}'"):
        if mv.run_id not in ids:
            continue
        version = str(mv.version)
        client.set_model_version_tag(MODEL_NAME, version, "hearth.interrupted", why)
        client.set_model_version_tag(MODEL_NAME, version, "promotion", f"never promoted: {why}")
        for alias, holder in aliases.items():
            if str(holder) == version:
                if alias == "champion" and previous:
                    client.set_registered_model_alias(MODEL_NAME, "champion", previous)
                else:
                    client.delete_registered_model_alias(MODEL_NAME, alias)
        tagged.append(version)
    return sorted(tagged, key=int)


class MlflowStore:
    """`hearth.operations.model_store.ModelStore` on an MLflow tracking store: what a run's
    commit and recovery do to the registry."""

    def __init__(self, tracking_uri: str):
        self.tracking_uri = tracking_uri

    def apply_decision(self, decision: dict, run_id: str) -> str | None:
        return apply_decision(decision, self.tracking_uri, run_id)

    def disown_versions(self, run_id: str, why: str, previous: str | None = None) -> list[str]:
        return disown_versions(run_id, why, self.tracking_uri, previous)

    def end_stale_runs(self) -> int:
        return end_stale_runs(self.tracking_uri)


def end_stale_runs(tracking_uri: str) -> int:
    """Mark training runs left RUNNING by a killed run as KILLED. Only called while holding the
    run lock, when no training can be in progress."""
    _, client = mlflow_client(tracking_uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        return 0
    runs = client.search_runs([exp.experiment_id], filter_string="attributes.status = 'RUNNING'")
    for r in runs:
        client.set_tag(r.info.run_id, "hearth.interrupted", "the Hearth run was killed mid-way")
        client.set_terminated(r.info.run_id, status="KILLED")
    return len(runs)
