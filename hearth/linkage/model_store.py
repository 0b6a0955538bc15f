"""The linkage model's versions in Hearth's MLflow home (the store hearth/modelling/registry/
client.py's `Registry` opens), under its own experiment and registered name, apart from the
household-risk model.

Each version is the trained splink model (`model.json`: settings, m and u; comparisons and
blocking rules, no token and no value) with what it was trained for as tags. The retraining
rule, `retrain_reason`, in order:

1. there is no version yet;
2. the token version of the records differs from the model's (tokens of two versions never
   agree);
3. the specification differs: the comparisons and blocking rules (`SETTINGS_VERSION`) or the
   contracts' token columns (`contract_fingerprint`);
4. the model is a year old or more (`MAX_AGE_DAYS`, by the run's clock; MoJ retrains yearly);
5. drift, seen after predicting with it: best-link precision at 0.5 on the exact-keyed records
   below `DRIFT_PRECISION`, or the share of records without a key that link at 0.5 or above
   moving more than `DRIFT_SHARE` from the share when it was trained.

Otherwise the newest version is reused for prediction.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from hearth.linkage.splink_model import SETTINGS_VERSION
from hearth.sources import SOURCES

MODEL_NAME = "hearth_record_linkage"
EXPERIMENT = "hearth-record-linkage"
ARTIFACT_DIR = "linkage_model"
MAX_AGE_DAYS = 365
DRIFT_PRECISION = 0.95
DRIFT_SHARE = 0.15


def contract_fingerprint() -> str:
    """A short hash of every source's token columns: a contract that adds or drops one changes
    it (and the model is retrained)."""
    spec = {s.name: list(s.tokens) for s in SOURCES.values() if s.tokens}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Stored:
    version: str
    model: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


def retrain_reason(
    stored: Stored | None, token_version: str, today: date, drift: dict[str, float] | None = None
) -> str | None:
    """Why the linkage model must be retrained now, in a sentence, or None to reuse it."""
    if stored is None:
        return "no linkage model is registered yet"
    t = stored.tags
    if t.get("token_version") != token_version:
        return "the records' token version differs from the model's"
    if t.get("settings_version") != SETTINGS_VERSION:
        return "the comparisons or blocking rules changed"
    if t.get("contract_fingerprint") != contract_fingerprint():
        return "the contracts' token columns changed"
    trained = date.fromisoformat(t.get("trained_on", "1970-01-01"))
    if (today - trained).days >= MAX_AGE_DAYS:
        return f"the model is {MAX_AGE_DAYS} days old or more"
    if drift:
        precision = drift.get("precision_at_0_5")
        if precision is not None and precision < DRIFT_PRECISION:
            return f"best-link precision at 0.5 fell below {DRIFT_PRECISION}"
        share, then = drift.get("linked_share"), t.get("linked_share")
        if share is not None and then is not None and abs(share - float(then)) > DRIFT_SHARE:
            return f"the share of records linked at 0.5 moved by more than {DRIFT_SHARE}"
    return None


class ModelStore:
    """The linkage model's versions, through an `MlflowClient` on Hearth's store."""

    def __init__(self, client: Any, artifact_root: Path | None = None):
        self.client = client
        self.artifact_root = artifact_root

    def _experiment_id(self) -> str:
        exp = self.client.get_experiment_by_name(EXPERIMENT)
        if exp is not None:
            return exp.experiment_id
        location = None
        if self.artifact_root is not None:
            self.artifact_root.mkdir(parents=True, exist_ok=True)
            location = self.artifact_root.as_uri()
        return self.client.create_experiment(
            EXPERIMENT,
            artifact_location=location,
            tags={"mlflow.experimentKind": "custom_model_development"},
        )

    def latest(self) -> Stored | None:
        from mlflow.exceptions import MlflowException  # mlflow

        try:
            versions = self.client.search_model_versions(f"name = '{MODEL_NAME}'")
        except MlflowException:
            return None
        if not versions:
            return None
        mv = max(versions, key=lambda v: int(v.version))
        with tempfile.TemporaryDirectory() as tmp:
            path = self.client.download_artifacts(mv.run_id, f"{ARTIFACT_DIR}/model.json", tmp)
            model = json.loads(Path(path).read_text(encoding="utf-8"))
        return Stored(version=str(mv.version), model=model, tags=dict(mv.tags))

    def log(self, model: dict[str, Any], tags: dict[str, str], reason: str) -> str:
        """Log a trained model as a run and register it as the next version; its number."""
        from mlflow.exceptions import MlflowException  # mlflow

        run = self.client.create_run(
            self._experiment_id(), run_name=f"linkage {tags.get('trained_on', '')}", tags=tags
        )
        run_id = run.info.run_id
        self.client.log_param(run_id, "retrain_reason", reason[:250])
        for k in ("settings_version", "token_version", "contract_fingerprint"):
            self.client.log_param(run_id, k, tags[k])
        self.client.log_param(
            run_id, "prior_match_probability", model["probability_two_random_records_match"]
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.json"
            path.write_text(json.dumps(model, indent=1), encoding="utf-8")
            self.client.log_artifact(run_id, str(path), ARTIFACT_DIR)
        self.client.set_terminated(run_id)
        with suppress(MlflowException):  # already registered
            self.client.create_registered_model(
                MODEL_NAME,
                description="Hearth's splink model linking records without an exact key to "
                "the person register on keyed-hash tokens (hearth/linkage/).",
            )
        mv = self.client.create_model_version(
            MODEL_NAME, f"runs:/{run_id}/{ARTIFACT_DIR}", run_id=run_id, tags=tags
        )
        return str(mv.version)
