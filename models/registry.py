"""MLflow: one run per training, every version registered, and a promotion gate.

The new version becomes `@champion` only if its precision at 1% on the validation window is at
least the current champion's on the same window; otherwise it is `@challenger`. The decision
and its reason are logged on the run and the version."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from hearth import settings

MODEL_NAME = "household_crisis_risk"
EXPERIMENT = "hearth-household-crisis-risk"
KEY_METRICS = (
    "precision_at_1pct",
    "recall_at_1pct",
    "precision_at_5pct",
    "recall_at_5pct",
    "auc",
    "average_precision",
    "brier",
)


def mlflow_client(tracking_uri: str | None = None):
    """Point MLflow at Hearth's store (SQLite under HEARTH_HOME unless a server is set)."""
    import logging

    import mlflow
    from mlflow import MlflowClient

    # MLflow's notes on database set-up and pip versions mean nothing to an officer reading a
    # run's progress; its errors still show (and registrations are still announced).
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    uri = tracking_uri or settings.mlflow_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        root = settings.mlflow_artifact_root()
        root.mkdir(parents=True, exist_ok=True)
        mlflow.create_experiment(EXPERIMENT, artifact_location=root.as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return mlflow, MlflowClient()


@dataclass
class Decision:
    version: str
    run_id: str
    alias: str  # champion | challenger
    reason: str
    champion_precision_at_1pct: float | None
    previous_champion: str | None = None  # the champion it was judged against


def current_champion(client) -> object | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(MODEL_NAME, "champion")
    except MlflowException:
        return None


def champion_on_window(mlflow, champ, frame: pl.DataFrame, y: np.ndarray, fixed_k: int):
    """The champion's metrics on the same validation window, or None with a reason if it
    cannot be scored on today's features.

    A champion that was refitted on its newest year saw crises that may fall in today's
    validation window, so it is judged by the model it was judged by itself (trained a year
    earlier, kept with it as `evaluation_model`): recipe against recipe, both out of time."""
    if "evaluation_model_uri" in champ.tags:
        uri = champ.tags["evaluation_model_uri"]
        names = json.loads(champ.tags.get("evaluation_feature_names", "[]"))
        cap = int(champ.tags.get("evaluation_recency_cap", 36))
    else:
        uri = f"models:/{MODEL_NAME}/{champ.version}"
        names = json.loads(champ.tags.get("feature_names", "[]"))
        cap = int(champ.tags.get("recency_cap", 36))
    missing = [n for n in names if n not in frame.columns]
    if not names or missing:
        return None, "the current champion uses features that are no longer built"
    from hearth.features.design import cap_recency
    from models.metrics import evaluate_scores  # sklearn: not at definitions load

    model = mlflow.sklearn.load_model(uri)
    frame = cap_recency(frame, cap)
    X = frame.select(names).to_numpy().astype(np.float32, copy=False)
    scores = model.predict_proba(X)[:, 1]
    return evaluate_scores(y, scores, frame["household_pid"].to_numpy(), fixed_k), ""


def decide(
    new_p1: float, champ_p1: float | None, champ_version: str | None, why_none: str
) -> tuple[str, str]:
    """The promotion rule on its own, so it can be tested both ways."""
    if champ_version is None:
        return "champion", "there was no champion yet"
    if champ_p1 is None:
        return "champion", f"{why_none} (version {champ_version})"
    if new_p1 >= champ_p1:
        return (
            "champion",
            f"precision at 1% {new_p1:.3f} is at least the champion's (version {champ_version}) "
            f"{champ_p1:.3f} on the same validation window",
        )
    return (
        "challenger",
        f"precision at 1% {new_p1:.3f} is below the champion's (version {champ_version}) "
        f"{champ_p1:.3f} on the same validation window",
    )


def _log_training(mlflow, result, fixed_k: int, artifacts: dict[str, Path]) -> None:
    """Parameters, metrics (the chosen model's and each candidate's) and artifacts."""
    from models.card import evaluation_metrics  # scikit-learn: not at definitions load
    from models.fairness import RULE as FAIRNESS_RULE

    p = result.params
    mlflow.log_params(
        {
            "candidate": result.kind,
            "train_as_of": result.train_as_of,
            "valid_as_of": result.valid_as_of,
            "refit_as_of": result.refit_as_of or "none",
            "train_rows": result.train_rows,
            "valid_rows": result.valid_rows,
            "features": len(result.feature_names),
            "max_iter": p.max_iter,
            "learning_rate": p.learning_rate,
            "max_leaf_nodes": p.max_leaf_nodes,
            "min_samples_leaf": p.min_samples_leaf,
            "l2_regularization": p.l2_regularization,
            "logistic_c": p.logistic_c,
            "calibration": p.calibration,
            "max_negatives": p.max_negatives,
            "fixed_k": fixed_k,
        }
    )
    mlflow.log_metrics({k: v for k, v in result.metrics.items() if np.isfinite(v)})
    mlflow.log_metrics(evaluation_metrics(result))  # fairness and value of sharing, as numbers
    mlflow.set_tag("fairness_rule", FAIRNESS_RULE)
    measured = dict(result.candidate_metrics)
    if "baseline" not in measured and getattr(result, "baseline_metrics", None):
        measured["baseline_reference"] = result.baseline_metrics  # the gate's reference
    for kind, met in measured.items():
        mlflow.log_metrics(
            {f"{kind}.{k}": v for k, v in met.items() if np.isfinite(v) and k in KEY_METRICS}
        )
    for path in artifacts.values():
        mlflow.log_artifact(str(path))


def log_refused(
    result, reason: str, fixed_k: int, tracking_uri: str | None, run_tags: dict[str, str]
) -> str:
    """Keep a refused training in MLflow (parameters, metrics, the reason) without registering
    a version, so the data scientist can see why; returns the MLflow run id."""
    mlflow, _ = mlflow_client(tracking_uri)
    tags = {**run_tags, "promotion_decision": "refused", "promotion_reason": reason}
    with mlflow.start_run(
        run_name=f"refused: train {result.train_as_of} / validate {result.valid_as_of}", tags=tags
    ) as run:
        _log_training(mlflow, result, fixed_k, {})
        return run.info.run_id


def log_and_promote(
    result,
    valid_frame: pl.DataFrame,
    valid_y: np.ndarray,
    artifacts: dict[str, Path],
    fixed_k: int = 1000,
    tracking_uri: str | None = None,
    set_alias: bool = True,
    run_tags: dict[str, str] | None = None,
) -> Decision:
    """Log the training run with its artifacts, register the model and apply the gate. Inside
    a pipeline run `set_alias` is False: the alias moves when the run commits
    (`apply_decision`), never before, so a run that is interrupted never moves it."""
    mlflow, client = mlflow_client(tracking_uri)
    import sklearn
    from mlflow.models import infer_signature

    names = result.feature_names
    example = valid_frame.select(names).head(5).to_pandas()  # raw_frame: uncapped values
    champ = current_champion(client)
    champ_metrics, why = (None, "")
    if champ is not None:
        champ_metrics, why = champion_on_window(mlflow, champ, valid_frame, valid_y, fixed_k)
    with mlflow.start_run(
        run_name=f"train {result.train_as_of} / validate {result.valid_as_of}", tags=run_tags
    ) as run:
        _log_training(mlflow, result, fixed_k, artifacts)
        info = mlflow.sklearn.log_model(
            result.model,
            name="model",
            registered_model_name=MODEL_NAME,
            input_example=example,
            signature=infer_signature(example, result.valid_scores[:5]),
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            skops_trusted_types=_own_types(result.model),
        )
        version = str(info.registered_model_version)
        evaluation_tags = {}
        if result.eval_model is not None:
            judged = mlflow.sklearn.log_model(
                result.eval_model,
                name="evaluation_model",
                pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
                skops_trusted_types=_own_types(result.eval_model),
            )
            evaluation_tags = {
                "evaluation_model_uri": judged.model_uri,
                "evaluation_feature_names": json.dumps(result.eval_feature_names),
                "evaluation_recency_cap": str(result.eval_recency_cap),
                "refit_as_of": result.refit_as_of,
            }
        new_p1 = result.metrics["precision_at_1pct"]
        champ_p1 = champ_metrics["precision_at_1pct"] if champ_metrics else None
        alias, reason = decide(new_p1, champ_p1, champ.version if champ else None, why)
        client.set_model_version_tag(MODEL_NAME, version, "feature_names", json.dumps(names))
        client.set_model_version_tag(MODEL_NAME, version, "valid_as_of", result.valid_as_of)
        client.set_model_version_tag(
            MODEL_NAME, version, "recency_cap", str(getattr(result, "recency_cap", 36))
        )
        client.set_model_version_tag(MODEL_NAME, version, "candidate", result.kind)
        for key, value in evaluation_tags.items():
            client.set_model_version_tag(MODEL_NAME, version, key, value)
        client.set_model_version_tag(MODEL_NAME, version, "promotion", f"{alias}: {reason}")
        if set_alias:
            client.set_registered_model_alias(MODEL_NAME, alias, version)
        mlflow.set_tag("promotion_decision", alias)
        mlflow.set_tag("promotion_reason", reason)
        with tempfile.TemporaryDirectory() as tmp:
            note = Path(tmp) / "promotion.txt"
            became = "became" if set_alias else "becomes, when the run commits,"
            note.write_text(f"Version {version} {became} @{alias}: {reason}.\n", encoding="utf-8")
            mlflow.log_artifact(str(note))
        previous = str(champ.version) if champ is not None else None
        return Decision(version, run.info.run_id, alias, reason, champ_p1, previous)


def _own_types(model) -> list[str]:
    """The types inside our fitted model that skops does not trust by default: our own
    baseline and transforms and sklearn's calibration wrapper, all made by this code."""
    import skops.io

    return sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def _version_or_champion(client, version: str | None):
    """The given version (the one a run decided on, before its commit moves the alias), or
    the current @champion."""
    if version is not None:
        return client.get_model_version(MODEL_NAME, str(version))
    return current_champion(client)


def load_champion(tracking_uri: str | None = None, version: str | None = None):
    """The champion model (or the version a run decided on) and its feature names and
    version."""
    mlflow, client = mlflow_client(tracking_uri)
    champ = _version_or_champion(client, version)
    if champ is None:
        raise LookupError(
            f"There is no @champion version of {MODEL_NAME} yet; run the training step first."
        )
    model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{champ.version}")
    return model, json.loads(champ.tags["feature_names"]), champ


def champion_summary(tracking_uri: str | None = None, version: str | None = None) -> dict:
    """Name, version, promotion decision and validation metrics of the champion (or of the
    version a run decided on, which is @champion once the run commits)."""
    _, client = mlflow_client(tracking_uri)
    champ = _version_or_champion(client, version)
    if champ is None:
        return {"name": MODEL_NAME, "version": None}
    run = client.get_run(champ.run_id)
    return {
        "name": MODEL_NAME,
        "version": str(champ.version),
        "alias": "champion",
        "uri": f"models:/{MODEL_NAME}@champion",
        "run_id": champ.run_id,
        "candidate": champ.tags.get("candidate"),
        "promotion": champ.tags.get("promotion"),
        "train_as_of": run.data.params.get("train_as_of"),
        "valid_as_of": run.data.params.get("valid_as_of"),
        "refit_as_of": champ.tags.get("refit_as_of"),
        "metrics": dict(sorted(run.data.metrics.items())),
    }


def promote_by_hand(version: str, reason: str, tracking_uri: str | None = None) -> str | None:
    """Make `version` the champion and record the reason; the previous champion becomes
    @challenger. Returns the previous champion's version."""
    from datetime import UTC, datetime

    from mlflow.exceptions import MlflowException

    _, client = mlflow_client(tracking_uri)
    try:
        client.get_model_version(MODEL_NAME, version)
    except MlflowException:
        raise LookupError(
            f"There is no version {version} of {MODEL_NAME}; see `hearth models list`."
        ) from None
    champ = current_champion(client)
    previous = str(champ.version) if champ is not None else None
    when = datetime.now(UTC).isoformat(timespec="seconds")
    client.set_model_version_tag(MODEL_NAME, version, "manual_promotion", f"{when}: {reason}")
    client.set_model_version_tag(MODEL_NAME, version, "promotion", f"champion (by hand): {reason}")
    client.set_registered_model_alias(MODEL_NAME, "champion", version)
    if previous and previous != str(version):
        client.set_registered_model_alias(MODEL_NAME, "challenger", previous)
    return previous


MODEL_ARTIFACTS = (
    "model_card.md",
    "calibration.png",
    "precision_recall.png",
    "calibration.csv",
    "fairness.csv",
    "sharing.csv",
    "promotion.txt",
)
_PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def fetch_model_artifacts(run_id: str | None, tracking_uri: str, dst: Path) -> Path | None:
    """Copy the champion run's card, plots and tables (not the model itself) into `dst`."""
    if not run_id:
        return None
    _, client = mlflow_client(tracking_uri)
    dst.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dst) as tmp:
        previous = os.environ.get(_PROGRESS_BAR)
        os.environ[_PROGRESS_BAR] = "false"  # no progress bars on the run's stderr
        try:
            got = Path(client.download_artifacts(run_id, "", tmp))
        finally:
            if previous is None:
                os.environ.pop(_PROGRESS_BAR, None)
            else:
                os.environ[_PROGRESS_BAR] = previous
        for name in MODEL_ARTIFACTS:
            if (got / name).is_file():
                shutil.copyfile(got / name, dst / name)
    return dst
