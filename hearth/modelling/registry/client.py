"""MLflow for Hearth: `Registry(tracking_uri)` is the one object that talks to it.

It knows the store (SQLite under HEARTH_HOME unless MLFLOW_TRACKING_URI names a server), the
experiment and model names and every `models:/...` URI; it logs, registers, tags and moves
aliases, loads the champion and fetches its artifacts, and ends stale runs. What a training run
logs is put together in hearth/modelling/registry/run_log.py, the promotion rules are in
hearth/modelling/registry/promotion.py and
the versions side by side in hearth/modelling/registry/versions.py: all three reach MLflow only
through here.

A home can be moved or restored from a backup: artifact locations in a SQLite store under
HEARTH_HOME are absolute, so when the store finds itself in another home it points them at
this home's `mlartifacts/` before anything reads them (`sql/modelling/relocate_artifacts.sql`)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from hearth import settings
from hearth.warehouse import statements

MODEL_NAME = "household_crisis_risk"
EXPERIMENT = "hearth-household-crisis-risk"
# The registered artifact (a pyfunc returning probabilities, hearth/modelling/registry/portable.py)
# and the
# model judged on the validation window, kept beside a refitted one for the promotion gate.
MODEL_ARTIFACT = "model"
JUDGED_ARTIFACT = "evaluation_model"
FEATURES_FILE = "feature_names.json"
MODEL_ARTIFACTS = (
    "model_card.md",
    "calibration.png",
    "precision_recall.png",
    "calibration.csv",
    "fairness.csv",
    "sharing.csv",
    "feature_importance.csv",
    FEATURES_FILE,
    "promotion.txt",
)
RUN_TAG = "dagster_run_id"  # on each MLflow training run: the Dagster run that trained it
# What MLflow should not do inside a Hearth run: copy the checkout's uv.lock and pyproject into
# every model (they describe Hearth, not the model), or draw progress bars on the run's stderr.
_QUIET_ENV = {"MLFLOW_LOG_UV_FILES": "false", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


# mlflow.set_tracking_uri also sets these in the environment: restored, so that the environment
# goes on saying what the user set (hearth/settings.py reads MLFLOW_TRACKING_URI as "a server").
_URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextmanager
def _environment(values: dict[str, str], keep: tuple[str, ...] = ()) -> Iterator[None]:
    """`values` set in the environment for the block; they and `keep` restored after it."""
    previous = {k: os.environ.get(k) for k in (*values, *keep)}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _quiet():
    return _environment(_QUIET_ENV)


class Registry:
    """Hearth's MLflow tracking store and model registry."""

    def __init__(self, tracking_uri: str | None = None):
        self.uri = tracking_uri or settings.mlflow_tracking_uri()
        self._mlflow = None
        self._client = None

    # --- names and URIs ---------------------------------------------------------------
    name = MODEL_NAME
    experiment_name = EXPERIMENT
    champion_uri = f"models:/{MODEL_NAME}@champion"

    @staticmethod
    def version_uri(version: str) -> str:
        return f"models:/{MODEL_NAME}/{version}"

    # --- the connection -----------------------------------------------------------------
    def _home_store(self) -> Path | None:
        """The SQLite file, if this is the store under HEARTH_HOME (the one a backup moves)."""
        home_db = settings.hearth_home() / "mlflow.db"
        return home_db if self.uri == f"sqlite:///{home_db}" else None

    def relocate(self) -> int:
        """Point artifact locations written under another home at this home's mlartifacts/
        (the home was moved or restored elsewhere). Returns the rows changed."""
        db = self._home_store()
        if db is None or not db.is_file():
            return 0
        root = settings.mlflow_artifact_root()
        with sqlite3.connect(db) as con:
            if not con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'experiments'"
            ).fetchone():
                return 0
            row = con.execute(
                "SELECT artifact_location FROM experiments WHERE name = ?", (EXPERIMENT,)
            ).fetchone()
            if row is None or row[0] in (root.as_uri(), str(root)):
                return 0
            old = Path(row[0].removeprefix("file://"))
            if old.name != root.name:  # not a home's mlartifacts/: someone else's choice
                return 0
            changed = 0
            for old_prefix, new_prefix in ((old.as_uri(), root.as_uri()), (str(old), str(root))):
                for stmt in statements("modelling/relocate_artifacts"):
                    cur = con.execute(stmt, {"old": old_prefix, "new": new_prefix})
                    changed += cur.rowcount
        return changed

    def _connect(self):
        if self._client is not None:
            return self._mlflow, self._client
        import mlflow  # mlflow
        from mlflow import MlflowClient  # mlflow

        # MLflow's notes on database set-up and pip versions mean nothing to an officer
        # reading a run's progress; its errors still show.
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        self.relocate()
        self._point(mlflow)
        exp = mlflow.get_experiment_by_name(EXPERIMENT)
        if exp is None:
            root = settings.mlflow_artifact_root()
            root.mkdir(parents=True, exist_ok=True)
            mlflow.create_experiment(
                EXPERIMENT,
                artifact_location=root.as_uri(),
                # the MLflow UI opens it on the model-training view (not GenAI)
                tags={"mlflow.experimentKind": "custom_model_development"},
            )
        mlflow.set_experiment(EXPERIMENT)
        self._mlflow, self._client = mlflow, MlflowClient(self.uri, self.uri)
        return mlflow, self._client

    def _point(self, mlflow) -> None:
        """MLflow's module-level functions (runs, logging, loading) at this store."""
        with _environment({}, keep=_URI_ENV):
            mlflow.set_tracking_uri(self.uri)
            mlflow.set_registry_uri(self.uri)

    @property
    def client(self):
        return self._connect()[1]

    @property
    def mlflow(self):
        """The mlflow module, pointed at this store (for hearth/modelling/registry/run_log.py)."""
        mlflow = self._connect()[0]
        self._point(mlflow)  # another Registry may have pointed it elsewhere since
        return mlflow

    def ui_page(self) -> str:
        """Where the MLflow UI should open: Hearth's experiment on the model-training view
        (the UI's `workflowType`, MLflow 3), rather than the GenAI home page. Connecting first
        also points a moved home's artifact locations at it (`relocate`)."""
        exp = self.experiment_id()
        where = f"experiments/{exp}" if exp else ""
        return f"/#/{where}?workflowType=machine_learning"

    def experiment_id(self) -> str | None:
        exp = self.client.get_experiment_by_name(EXPERIMENT)
        return None if exp is None else exp.experiment_id

    # --- reading the registry -----------------------------------------------------------
    def champion(self):
        """The @champion model version, or None."""
        return self.holder("champion")

    def holder(self, alias: str):
        from mlflow.exceptions import MlflowException  # mlflow

        try:
            return self.client.get_model_version_by_alias(MODEL_NAME, alias)
        except MlflowException:
            return None

    def version(self, version: str):
        """A model version; LookupError with a sentence if there is none."""
        from mlflow.exceptions import MlflowException  # mlflow

        try:
            return self.client.get_model_version(MODEL_NAME, str(version))
        except MlflowException:
            raise LookupError(
                f"There is no version {version} of {MODEL_NAME}; see `hearth models list`."
            ) from None

    def version_or_champion(self, version: str | None):
        """The given version (the one a run decided on, before its commit moves the alias), or
        the current @champion."""
        return self.version(version) if version is not None else self.champion()

    def versions(self) -> list:
        """Every version, oldest first."""
        found = self.client.search_model_versions(f"name='{MODEL_NAME}'")
        return sorted(found, key=lambda mv: int(mv.version))

    def aliases(self) -> dict[str, str]:
        """alias -> version; empty when nothing is registered."""
        from mlflow.exceptions import MlflowException  # mlflow

        try:
            model = self.client.get_registered_model(MODEL_NAME)
        except MlflowException:
            return {}
        return {a: str(v) for a, v in (model.aliases or {}).items()}

    def model_tags(self) -> dict[str, str]:
        from mlflow.exceptions import MlflowException  # mlflow

        try:
            return dict(self.client.get_registered_model(MODEL_NAME).tags or {})
        except MlflowException:
            return {}

    def run(self, run_id: str):
        return self.client.get_run(run_id)

    def runs(self, filter_string: str) -> list:
        exp = self.experiment_id()
        return [] if exp is None else self.client.search_runs([exp], filter_string=filter_string)

    def run_json(self, run_id: str, name: str):
        """A JSON artifact of a run, or None if it has none."""
        with tempfile.TemporaryDirectory() as tmp, _quiet():
            try:
                path = self.client.download_artifacts(run_id, name, tmp)
            except Exception:  # no such artifact (older versions kept it as a tag)
                return None
            return json.loads(Path(path).read_text(encoding="utf-8"))

    def feature_names(self, mv, judged: bool = False) -> list[str]:
        """The features a version's model (or its judged model) reads, in order."""
        tag = "evaluation_feature_names" if judged else "feature_names"
        if tag in mv.tags:  # versions before the names moved to an artifact
            return json.loads(mv.tags[tag])
        names = self.run_json(mv.run_id, FEATURES_FILE) or {}
        return list(names.get("evaluation" if judged else "model") or [])

    # --- loading models -----------------------------------------------------------------
    def load_estimator(self, uri: str):
        """The fitted scikit-learn model behind a model URI (the registered pyfunc's, or an
        sklearn-flavoured model as logged before the pyfunc)."""
        mlflow = self.mlflow
        with _quiet():
            if "sklearn" in mlflow.models.get_model_info(uri).flavors:
                return mlflow.sklearn.load_model(uri)
            return mlflow.pyfunc.load_model(uri).unwrap_python_model().estimator

    def load_champion(self, version: str | None = None):
        """The champion's estimator (or the version a run decided on's), its feature names
        and its model version."""
        champ = self.version_or_champion(version)
        if champ is None:
            raise LookupError(
                f"There is no @champion version of {MODEL_NAME} yet; run the training step first."
            )
        model = self.load_estimator(self.version_uri(champ.version))
        return model, self.feature_names(champ), champ

    def fetch_model_artifacts(self, run_id: str | None, dst: Path) -> Path | None:
        """Copy the champion run's card, plots and tables (not the model itself) into `dst`."""
        if not run_id:
            return None
        dst.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dst) as tmp, _quiet():
            got = Path(self.client.download_artifacts(run_id, "", tmp))
            for name in MODEL_ARTIFACTS:
                if (got / name).is_file():
                    shutil.copyfile(got / name, dst / name)
        return dst

    # --- writing ------------------------------------------------------------------------
    @contextmanager
    def start_run(self, run_name: str, tags: dict[str, str] | None, description: str):
        mlflow = self.mlflow
        with _quiet(), mlflow.start_run(run_name=run_name, tags=tags, description=description) as r:
            yield r

    def rename_run(self, run_id: str, run_name: str) -> None:
        self.client.update_run(run_id, name=run_name)

    def tag_version(self, version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(MODEL_NAME, str(version), key, value)

    def tag_model(self, key: str, value: str | None) -> None:
        """Set (or, with None, delete) a tag of the registered model."""
        from mlflow.exceptions import MlflowException  # mlflow

        if value is not None:
            self.client.set_registered_model_tag(MODEL_NAME, key, value)
            return
        with suppress(MlflowException):  # there was no such tag
            self.client.delete_registered_model_tag(MODEL_NAME, key)

    def describe(self, version: str | None, text: str) -> None:
        """The registered model's description (version None) or a version's."""
        if version is None:
            self.client.update_registered_model(MODEL_NAME, description=text)
        else:
            self.client.update_model_version(MODEL_NAME, str(version), description=text)

    def set_alias(self, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(MODEL_NAME, alias, str(version))

    def delete_alias(self, alias: str) -> None:
        self.client.delete_registered_model_alias(MODEL_NAME, alias)

    def tag_run(self, run_id: str, key: str, value: str) -> None:
        self.client.set_tag(run_id, key, value)

    def end_run(self, run_id: str, why: str) -> None:
        """Mark a run left RUNNING by a killed Hearth run as KILLED, saying why."""
        self.client.set_tag(run_id, "hearth.interrupted", why)
        self.client.set_terminated(run_id, status="KILLED")

    def end_stale_runs(self) -> int:
        """Mark training runs left RUNNING by a killed run as KILLED. Only called while holding
        the run lock, when no training can be in progress."""
        runs = self.runs("attributes.status = 'RUNNING'")
        for r in runs:
            self.end_run(r.info.run_id, "the Hearth run was killed mid-way")
        return len(runs)

    def runs_of(self, dagster_run_id: str) -> list:
        """The training runs of one Dagster run (the id is checked by the caller)."""
        return self.runs(f"tags.{RUN_TAG} = '{dagster_run_id}'")
