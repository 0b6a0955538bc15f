"""The registry's versions side by side: what `hearth models list` and `compare` show.

Every version of `household_crisis_risk` with its aliases, the windows it was trained and
validated on, its promotion decision and its validation metrics, and the change in each key
metric from one version to the others. Read-only: promotion is in
hearth/modelling/registry/promotion.py."""

from __future__ import annotations

import json
from dataclasses import dataclass

from hearth.modelling.registry.client import Registry
from hearth.modelling.registry.promotion import HISTORY_TAG, pinned

# The key validation metrics, in the order they are shown, with their short labels.
KEY_METRICS = (
    ("precision_at_1pct", "P@1%"),
    ("recall_at_1pct", "R@1%"),
    ("precision_at_5pct", "P@5%"),
    ("recall_at_5pct", "R@5%"),
    ("auc", "AUC"),
    ("average_precision", "AP"),
    ("brier", "Brier"),
)


def version_rows(registry=None) -> list[dict]:
    """Every version of the model with its aliases, windows, decision, who promoted it, when
    and why, and its metrics, oldest first; none when nothing is registered yet."""

    registry = registry or Registry()
    aliases: dict[str, list[str]] = {}
    for alias, version in registry.aliases().items():
        aliases.setdefault(version, []).append(alias)
    versions = registry.versions()
    pin = pinned(registry) if versions else None
    rows = []
    for mv in versions:
        run = registry.run(mv.run_id)
        params = run.data.params
        history = json.loads(mv.tags.get(HISTORY_TAG, "[]"))
        rows.append(
            {
                "version": str(mv.version),
                "aliases": sorted(aliases.get(str(mv.version), [])),
                "candidate": mv.tags.get("candidate", ""),
                "features": params.get("features", ""),
                "calibration": params.get("calibration", ""),
                "train_as_of": params.get("train_as_of", ""),
                "valid_as_of": params.get("valid_as_of", ""),
                "promotion": mv.tags.get("promotion", ""),
                "promoted_by": mv.tags.get("promoted_by", ""),
                "promoted_at": mv.tags.get("promoted_at", ""),
                "promotion_reason": mv.tags.get("promotion_reason", ""),
                "history": history,
                "pinned": bool(pin and str(pin["version"]) == str(mv.version)),
                "metrics": run.data.metrics,
            }
        )
    return rows


@dataclass(frozen=True)
class Comparison:
    """Versions side by side: for each key metric, each version's value and its change from
    the first version (None for the first, or where either value is missing)."""

    versions: list[dict]  # the version rows, in the order asked for
    metrics: list[tuple[str, list[tuple[float | None, float | None]]]]  # (label, [(value, delta)])

    @property
    def same_window(self) -> bool:
        """Whether every version was validated on the same window."""
        return len({r["valid_as_of"] for r in self.versions}) <= 1


def compare_versions(rows: list[dict], versions: list[str]) -> Comparison:
    """The given versions of `rows` compared; LookupError naming those that do not exist."""
    by_version = {r["version"]: r for r in rows}
    missing = [v for v in versions if v not in by_version]
    if missing:
        raise LookupError(f"No such version: {', '.join(missing)}.")
    chosen = [by_version[v] for v in versions]
    base = chosen[0]["metrics"]
    metrics = []
    for key, label in KEY_METRICS:
        cells = []
        for v, r in zip(versions, chosen, strict=True):
            val = r["metrics"].get(key)
            first = v == versions[0]
            delta = None if first or val is None or key not in base else val - base[key]
            cells.append((val, delta))
        metrics.append((label, cells))
    return Comparison(chosen, metrics)


def champion_summary(registry, version: str | None = None) -> dict:
    """Name, version, promotion (who, when, why) and validation metrics of the champion (or of
    the version a run decided on, which is @champion once the run commits)."""
    champ = registry.version_or_champion(version)
    if champ is None:
        return {"name": registry.name, "version": None}
    run = registry.run(champ.run_id)
    return {
        "name": registry.name,
        "version": str(champ.version),
        "alias": "champion",
        "uri": registry.champion_uri,
        "run_id": champ.run_id,
        "candidate": champ.tags.get("candidate"),
        # set when the version is the contact-count ranking because no learned model beat it
        "contact_count": champ.tags.get("hearth.contact_count"),
        "promotion": champ.tags.get("promotion"),
        "train_as_of": run.data.params.get("train_as_of"),
        "valid_as_of": run.data.params.get("valid_as_of"),
        "refit_as_of": champ.tags.get("refit_as_of"),
        "metrics": dict(sorted(run.data.metrics.items())),
    }
