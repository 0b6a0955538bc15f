"""The registry's versions side by side: what `hearth models list` and `compare` show.

Every version of `household_crisis_risk` with its aliases, the windows it was trained and
validated on, its promotion decision and its validation metrics, and the change in each key
metric from one version to the others. Read-only: promotion is in models/registry.py."""

from __future__ import annotations

from dataclasses import dataclass

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


def version_rows(tracking_uri: str | None = None) -> list[dict]:
    """Every version of the model with its aliases, windows, decision and metrics, oldest
    first; none when nothing is registered yet."""
    from mlflow.exceptions import MlflowException

    from models.registry import MODEL_NAME, mlflow_client

    _, client = mlflow_client(tracking_uri)
    try:
        model = client.get_registered_model(MODEL_NAME)
    except MlflowException:
        return []
    aliases: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for mv in client.search_model_versions(f"name='{MODEL_NAME}'"):
        run = client.get_run(mv.run_id)
        rows.append(
            {
                "version": str(mv.version),
                "aliases": sorted(aliases.get(str(mv.version), [])),
                "candidate": mv.tags.get("candidate", ""),
                "train_as_of": run.data.params.get("train_as_of", ""),
                "valid_as_of": run.data.params.get("valid_as_of", ""),
                "promotion": mv.tags.get("promotion", ""),
                "manual_promotion": mv.tags.get("manual_promotion", ""),
                "metrics": run.data.metrics,
            }
        )
    return sorted(rows, key=lambda r: int(r["version"]))


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
