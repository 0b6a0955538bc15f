"""Why a household is ranked where it is, in words, and who should lead.

For tree models the contributions are shap's TreeExplainer values (additive to the model's
log-odds); for the logistic model they are the exact linear terms. Only contributions that
raise the risk become reasons."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from hearth.features.catalogue import Catalogue

RULES_FILE = Path(__file__).with_name("lead_agency.yaml")
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


def contributions(inner_model, X: np.ndarray) -> np.ndarray:
    """Per-row, per-feature contributions to the model's log-odds."""
    if isinstance(inner_model, HistGradientBoostingClassifier):
        import shap  # slow import: only when explaining

        values = shap.TreeExplainer(inner_model).shap_values(X)
        return np.asarray(values[1] if isinstance(values, list) else values)
    if isinstance(inner_model, Pipeline):
        transformed = X
        for _, step in inner_model.steps[:-1]:
            transformed = step.transform(transformed)
        coef = inner_model.steps[-1][1].coef_[0]
        return transformed * coef
    # The baseline: each counted column adds its own count.
    cols = getattr(inner_model, "columns", None) or []
    out = np.zeros_like(X, dtype=float)
    out[:, cols] = X[:, cols]
    return out


@dataclass
class Reasons:
    texts: list[list[str]]  # up to three per household
    features: list[list[str]]  # the feature behind each reason


def top_reasons(
    contrib: np.ndarray,
    X: np.ndarray,
    names: list[str],
    cat: Catalogue,
    n: int = 3,
    recency_cap: int | None = None,
) -> Reasons:
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :n]
    texts, feats = [], []
    for i, idx in enumerate(order):
        row_t, row_f = [], []
        for j in idx:
            if contrib[i, j] <= 0:
                break
            row_f.append(names[j])
            row_t.append(cat.by_name(names[j]).describe(float(X[i, j]), recency_cap))
        texts.append(row_t)
        feats.append(row_f)
    return Reasons(texts, feats)


@cache
def load_rules() -> dict:
    return yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))


def lead_agency(values: dict[str, float], first_reason_feature: str | None, cat: Catalogue) -> str:
    rules = load_rules()
    for rule in rules["rules"]:
        if all(_OPS[c["op"]](values.get(c["feature"], 0.0), c["value"]) for c in rule["when"]):
            return rule["lead"]
    if first_reason_feature is None:
        return rules["by_agency"]["register"]
    feature = cat.by_name(first_reason_feature)
    if feature.members and feature.key in rules.get("by_theme", {}):
        return rules["by_theme"][feature.key]
    return rules["by_agency"][feature.agency]
