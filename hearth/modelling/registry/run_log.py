"""What a training run logs to MLflow, through the Registry (hearth/modelling/registry/client.py).

One MLflow run per training, named so a list tells runs apart (`v7 · gradient boosting · as of
2026-01`), with its parameters, metrics (the chosen model's and each candidate's), the windows it
was trained, validated and refitted on (`log_input`, with their as-of months, rows and digests),
the feature names and global feature importance as artifacts, the card and plots. The version
registered is a pyfunc that returns probabilities (hearth/modelling/registry/portable.py), loadable
without Hearth,
with a signature naming its columns (all float64) and the card's summary as its description.

A retrain on identical data and settings registers no new version: the run is logged and
tagged as the same as the earlier version, and the decision is about that version."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from hearth.modelling.evaluation.fairness import RULE as FAIRNESS_RULE
from hearth.modelling.registry.client import (
    FEATURES_FILE,
    JUDGED_ARTIFACT,
    MODEL_ARTIFACT,
    MODEL_NAME,
    Registry,
)
from hearth.modelling.registry.fingerprint import Fingerprint
from hearth.modelling.registry.promotion import (
    Decision,
    champion_on_window,
    decide_with_pin,
    record_promotion,
)

KEY_METRICS = (
    "precision_at_1pct",
    "recall_at_1pct",
    "precision_at_5pct",
    "recall_at_5pct",
    "auc",
    "average_precision",
    "brier",
)
FINGERPRINT_TAG = "hearth.fingerprint"
# On a version that is the contact-count ranking because no learned model beat it (models/
# gate.py): the sentence every output shows (models/versions.py:champion_summary).
CONTACT_COUNT_TAG = "hearth.contact_count"
MODEL_DESCRIPTION = (
    "Each household's chance of a crisis (an emergency admission, a dwelling fire, high-risk "
    "domestic abuse, a child protection plan or a child becoming looked after) in the 12 "
    "months after the scoring date, ranked for "
    "proactive, voluntary support. Load it anywhere with "
    f"`mlflow.pyfunc.load_model('{Registry.champion_uri}')`: `predict` takes the "
    "household features as Hearth stores them (HEARTH_HOME/features/features_<as_of>.parquet, "
    "any numeric dtype) and returns the probability, the published list's `score`."
)


def run_name(result, as_of: str | None, version: str | None, prefix: str = "") -> str:
    """e.g. `v7 · gradient boosting · as of 2026-01`."""
    parts = [" ".join(p for p in (prefix, f"v{version}" if version else "") if p)]
    parts.append(result.kind.replace("_", " "))
    parts.append(f"as of {as_of}" if as_of else f"validated {result.valid_as_of}")
    return " · ".join(p for p in parts if p)


def card_summary(result) -> str:
    """The model card's opening section (its summary), for the version's description."""
    from hearth.modelling.evaluation.card import model_card  # sklearn

    lines = []
    for line in model_card(result).splitlines():
        if line.startswith("## ") and lines:
            break
        lines.append(line)
    return "\n".join(lines).strip()[:4000]


def _params(result, fixed_k: int) -> dict:
    p = result.params
    return {
        "candidate": result.kind,
        "train_as_of": result.train_as_of,
        "valid_as_of": result.valid_as_of,
        "refit_as_of": result.refit_as_of or "none",
        # the years of outcomes the refit learnt from (TrainParams.refit_years, or 1 where the
        # history falls short of two: the card says why)
        "refit_years": getattr(result, "refit_years", 1) if result.refit_as_of else "none",
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


def _log_inputs(mlflow, result, fingerprint: Fingerprint | None) -> None:
    """The windows as MLflow datasets: which features file, as of when, how many rows."""
    from mlflow.data.dataset_source_registry import get_dataset_source_from_json  # mlflow
    from mlflow.data.meta_dataset import MetaDataset  # mlflow

    digests = fingerprint.windows if fingerprint else {}
    windows = [
        ("training", result.train_as_of, result.train_rows),
        ("validation", result.valid_as_of, result.valid_rows),
    ]
    if result.refit_as_of:
        windows.append(("refit", result.refit_as_of, result.refit_rows))
    for context, as_of, rows in windows:
        uri = f"features/features_{as_of}.parquet"  # under HEARTH_HOME: stays true when moved
        source = get_dataset_source_from_json(json.dumps({"uri": uri}), "local")
        digest = digests.get(context) or hashlib.sha256(uri.encode()).hexdigest()[:32]
        dataset = MetaDataset(source, name=f"household features {as_of}", digest=digest)
        mlflow.log_input(dataset, context=context, tags={"as_of": as_of, "rows": str(rows)})


def _importance(result, valid_frame: pl.DataFrame, out: Path, sample: int = 2000) -> Path | None:
    """Mean absolute contribution of each feature to the log-odds, over a fixed sample of the
    validation households (the same explanations the reasons use)."""
    from hearth.modelling.registry.portable import HouseholdRisk  # pandas
    from hearth.modelling.training.explain import importance  # sklearn

    wrapper = HouseholdRisk(result.model, result.feature_names, result.recency_cap)
    # the first households by pseudonym, gathered alone (not the whole window sorted first)
    frame = valid_frame.bottom_k(sample, by="household_pid").sort("household_pid").to_pandas()
    X = wrapper.matrix(frame)
    if not len(X):
        return None
    try:
        contrib = importance(result.model, X)
    except (AttributeError, TypeError, ValueError, IndexError) as e:  # a kind it cannot explain
        path = out / "feature_importance.txt"
        path.write_text(f"No global feature importance for this model ({type(e).__name__}).\n")
        return path
    table = pl.DataFrame(
        {"feature": result.feature_names, "mean_abs_contribution": contrib.astype(float)}
    ).sort("mean_abs_contribution", descending=True)
    path = out / "feature_importance.csv"
    table.write_csv(path)
    return path


def contact_count_tag(result) -> dict[str, str]:
    said = getattr(result, "contact_count_fallback", None)
    return {CONTACT_COUNT_TAG: said[:4900]} if said else {}


def _log_training(registry: Registry, result, fixed_k: int, artifacts: dict[str, Path], fp) -> None:
    """Parameters, metrics (the chosen model's and each candidate's), inputs and artifacts."""
    from hearth.modelling.evaluation.card import (  # sklearn
        evaluation_metrics,  # scikit-learn: not at definitions load
    )

    mlflow = registry.mlflow
    mlflow.log_params(_params(result, fixed_k))
    mlflow.log_metrics({k: v for k, v in result.metrics.items() if np.isfinite(v)})
    mlflow.log_metrics(evaluation_metrics(result))  # fairness and value of sharing, as numbers
    mlflow.set_tag("fairness_rule", FAIRNESS_RULE)
    for key, value in contact_count_tag(result).items():
        mlflow.set_tag(key, value)
    if getattr(result, "choice_sentence", ""):
        mlflow.set_tag("hearth.choice", result.choice_sentence[:4900])
    measured = dict(result.candidate_metrics)
    if "baseline" not in measured and getattr(result, "baseline_metrics", None):
        measured["baseline_reference"] = result.baseline_metrics  # the gate's reference
    for kind, met in measured.items():
        mlflow.log_metrics(
            {f"{kind}.{k}": v for k, v in met.items() if np.isfinite(v) and k in KEY_METRICS}
        )
    _log_inputs(mlflow, result, fp)
    names = {"model": result.feature_names}
    if result.eval_model is not None:
        names["evaluation"] = result.eval_feature_names
    mlflow.log_dict(names, FEATURES_FILE)
    for path in artifacts.values():
        mlflow.log_artifact(str(path))


def log_refused(
    registry: Registry, result, reason: str, fixed_k: int, run_tags: dict[str, str]
) -> str:
    """Keep a refused training in MLflow (parameters, metrics, the reason) without registering
    a version, so the data scientist can see why; returns the MLflow run id."""
    tags = {**run_tags, "promotion_decision": "refused", "promotion_reason": reason}
    name = run_name(result, run_tags.get("hearth.as_of"), None, prefix="refused")
    with registry.start_run(name, tags, f"Refused by the promotion gate: {reason}") as run:
        _log_training(registry, result, fixed_k, {}, None)
        return run.info.run_id


def _same_as(registry: Registry, fingerprint: Fingerprint | None):
    """An earlier version trained on identical data and settings, if any (never one of a run
    that did not commit)."""
    if fingerprint is None:
        return None
    for mv in registry.versions():
        if mv.tags.get(FINGERPRINT_TAG) == fingerprint.digest and "hearth.interrupted" not in (
            mv.tags
        ):
            return mv
    return None


def input_example(frame: pl.DataFrame, features: list[str]) -> pl.DataFrame:
    """The registered model's input example: one made-up row, each feature's median over the
    frame (0 where a feature is empty), as float64. Never a household's own row: the example is
    stored with the model and shown in MLflow's UI to whoever can read the registry."""
    medians = frame.select(pl.col(f).cast(pl.Float64).median().alias(f) for f in features)
    return medians.fill_null(0.0).fill_nan(0.0)


def _signature(features: list[str]):
    """Named columns of any numeric type (MLflow refuses int64 for double); the model casts."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

    return ModelSignature(
        inputs=Schema([ColSpec(AnyType(), n) for n in features]),
        outputs=Schema([TensorSpec(np.dtype("float64"), (-1,), "crisis_probability")]),
    )


def _log_models(registry: Registry, result, valid_frame: pl.DataFrame) -> tuple[str, dict]:
    """Register the portable pyfunc, and keep the judged model beside it as a portable pyfunc
    too (loadable outside Hearth, like the champion); returns the version and the judged
    model's tags."""
    import cloudpickle  # cloudpickle
    import pandas as pd  # pandas
    import sklearn  # sklearn

    from hearth.modelling.registry.portable import HouseholdRisk, pickled_by_value  # pandas

    mlflow = registry.mlflow
    wrapper = HouseholdRisk(result.model, result.feature_names, result.recency_cap)
    example = input_example(valid_frame, result.feature_names).to_pandas()
    requirements = [
        f"scikit-learn=={sklearn.__version__}",
        f"numpy=={np.__version__}",
        f"pandas=={pd.__version__}",
        f"cloudpickle=={cloudpickle.__version__}",
    ]
    with pickled_by_value(wrapper):
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=wrapper,
            registered_model_name=MODEL_NAME,
            input_example=example,
            signature=_signature(result.feature_names),
            pip_requirements=requirements,
        )
    judged = {}
    if result.eval_model is not None:
        # the model the card's numbers come from: the same portable form, not registered
        judged_wrapper = HouseholdRisk(
            result.eval_model, result.eval_feature_names, result.eval_recency_cap
        )
        with pickled_by_value(judged_wrapper):
            logged = mlflow.pyfunc.log_model(
                name=JUDGED_ARTIFACT,
                python_model=judged_wrapper,
                signature=_signature(result.eval_feature_names),
                pip_requirements=requirements,
            )
        judged = {
            "evaluation_model_uri": logged.model_uri,
            "evaluation_recency_cap": str(result.eval_recency_cap),
            "refit_as_of": result.refit_as_of,
        }
    return str(info.registered_model_version), judged


def log_and_promote(
    registry: Registry,
    result,
    valid_frame: pl.DataFrame,
    valid_y: np.ndarray,
    artifacts: dict[str, Path],
    fixed_k: int = 1000,
    set_alias: bool = True,
    run_tags: dict[str, str] | None = None,
    fingerprint: Fingerprint | None = None,
) -> Decision:
    """Log the training run with its artifacts, register the model (unless an identical one
    is registered) and apply the gate. Inside a pipeline run `set_alias` is False: the alias
    moves when the run commits (`apply_decision`), never before."""
    run_tags = dict(run_tags or {})
    as_of = run_tags.get("hearth.as_of")
    champ = registry.champion()
    champ_metrics, why = (None, "")
    if champ is not None:
        champ_metrics, why = champion_on_window(registry, champ, valid_frame, valid_y, fixed_k)
    same = _same_as(registry, fingerprint)
    if fingerprint is not None:
        run_tags[FINGERPRINT_TAG] = fingerprint.digest
    provisional = run_name(result, as_of, None)
    summary = card_summary(result)  # the run's description and the version's: built once
    with tempfile.TemporaryDirectory() as tmp:
        imp = _importance(result, valid_frame, Path(tmp))
        logged = {**artifacts, **({"feature_importance": imp} if imp else {})}
        with registry.start_run(provisional, run_tags, summary) as run:
            _log_training(registry, result, fixed_k, logged, fingerprint)
            if same is not None:
                version, judged = str(same.version), {}
            else:
                version, judged = _log_models(registry, result, valid_frame)
            champ_p1 = champ_metrics["precision_at_1pct"] if champ_metrics else None
            alias, reason = decide_with_pin(
                registry,
                version,
                result.metrics["precision_at_1pct"],
                champ_p1,
                champ.version if champ else None,
                why,
            )
            if same is not None:
                reason = (
                    f"the same data and settings as version {version}, so no new version was "
                    f"registered; {reason}"
                )
                registry.rename_run(run.info.run_id, run_name(result, as_of, version, "same as"))
                registry.tag_run(run.info.run_id, "hearth.same_as_version", version)
            else:
                registry.rename_run(run.info.run_id, run_name(result, as_of, version))
                registry.tag_version(
                    version,
                    {
                        "valid_as_of": result.valid_as_of,
                        "recency_cap": str(getattr(result, "recency_cap", 36)),
                        "candidate": result.kind,
                        **({FINGERPRINT_TAG: fingerprint.digest} if fingerprint else {}),
                        **contact_count_tag(result),
                        **judged,
                    },
                )
                registry.describe(version, summary)
                registry.describe(None, MODEL_DESCRIPTION)
                registry.tag_version(version, {"promotion": f"{alias}: {reason}"})
            if set_alias:
                by = run_tags.get("dagster_run_id") or "training outside a run"
                record_promotion(registry, version, alias, f"hearth ({by})", reason)
            registry.mlflow.set_tag("promotion_decision", alias)
            registry.mlflow.set_tag("promotion_reason", reason)
            became = "became" if set_alias else "becomes, when the run commits,"
            registry.mlflow.log_text(
                f"Version {version} {became} @{alias}: {reason}.\n", "promotion.txt"
            )
            previous = str(champ.version) if champ is not None else None
            return Decision(version, run.info.run_id, alias, reason, champ_p1, previous)
