"""Promotion: the gate's rule, promotions an auditor can follow, and the registry side of a run's
commit (hearth/operations/commit.py). Everything reaches MLflow through
hearth/modelling/registry/client.py.

- A new version becomes `@champion` only if its precision at 1% on the validation window is at
  least the current champion's on the same window; otherwise it is `@challenger`.
- Every promotion records who (the OS user, `--by`, or the Hearth run), when and why on the
  version (`promoted_by`, `promoted_at`, `promotion_reason`) and appends it to the version's
  `promotion_history`; an earlier record is never overwritten. Promoting the champion again
  changes nothing.
- A champion promoted by hand can be pinned (`hearth models promote V --pin`): a routine run
  then registers its version as `@challenger` and says so, until `hearth models unpin`.
- Inside a pipeline run the alias moves only when the run commits (`apply_decision`); the
  versions of a run that never committed are tagged so (`disown_versions`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from hearth import settings
from hearth.features.design import cap_recency
from hearth.modelling.evaluation.metrics import evaluate_scores
from hearth.modelling.registry.client import Registry
from hearth.modelling.registry.retention import expire_versions
from hearth.modelling.training.blocks import crisis_probability

PIN_TAG = "hearth.pinned"  # on the registered model: {"version", "by", "at", "reason"}
HISTORY_TAG = "promotion_history"
_HISTORY_CHARS = 4500  # MLflow keeps tag values up to 5,000 characters
_DAGSTER_RUN_ID = re.compile(r"[0-9a-f-]{8,64}")


@dataclass
class Decision:
    version: str
    run_id: str
    alias: str  # champion | challenger
    reason: str
    champion_precision_at_1pct: float | None
    previous_champion: str | None = None  # the champion it was judged against


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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


def pinned(registry: Registry) -> dict | None:
    """The pin on the champion ({"version", "by", "at", "reason"}), if there is one."""
    raw = registry.model_tags().get(PIN_TAG)
    return json.loads(raw) if raw else None


def pin_sentence(pin: dict) -> str:
    return (
        f"version {pin['version']} was pinned as @champion by {pin['by']} at {pin['at']} "
        f'("{pin["reason"]}"); unpin it with `hearth models unpin` to let runs promote'
    )


def decide_with_pin(
    registry: Registry,
    version: str,
    new_p1: float,
    champ_p1: float | None,
    champ_version: str | None,
    why_none: str,
) -> tuple[str, str]:
    """The rule, and a pinned champion that a routine run may not replace."""
    if champ_version is not None and str(champ_version) == str(version):
        return "champion", f"version {version} is the champion already"
    alias, reason = decide(new_p1, champ_p1, champ_version, why_none)
    pin = pinned(registry)
    if alias == "champion" and pin and str(pin["version"]) == str(champ_version):
        return "challenger", f"{reason}, but {pin_sentence(pin)}"
    return alias, reason


def champion_on_window(registry: Registry, champ, frame: pl.DataFrame, y: np.ndarray, k: int):
    """The champion's metrics on the same validation window, or None with a reason if it
    cannot be scored on today's features.

    A champion that was refitted on its newest year saw crises that may fall in today's
    validation window, so it is judged by the model it was judged by itself (trained a year
    earlier, kept with it as `evaluation_model`): recipe against recipe, both out of time."""

    if "evaluation_model_uri" in champ.tags:
        uri = champ.tags["evaluation_model_uri"]
        names = registry.feature_names(champ, judged=True)
        cap = int(champ.tags.get("evaluation_recency_cap", 36))
    else:
        uri = registry.version_uri(champ.version)
        names = registry.feature_names(champ)
        cap = int(champ.tags.get("recency_cap", 36))
    missing = [n for n in names if n not in frame.columns]
    if not names or missing:
        return None, "the current champion uses features that are no longer built"
    model = registry.load_estimator(uri)
    frame = cap_recency(frame, cap)
    X = frame.select(names).to_numpy().astype(np.float32, copy=False)
    scores = crisis_probability(model, X)
    return evaluate_scores(y, scores, frame["household_pid"].to_numpy(), k), ""


def record_promotion(registry: Registry, version: str, alias: str, by: str, why: str) -> None:
    """Give `version` the alias and record who, when and why (the latest on its own tags, and
    every one in its history)."""
    mv = registry.version(version)
    at = now()
    history = json.loads(mv.tags.get(HISTORY_TAG, "[]"))
    history.append({"at": at, "alias": alias, "by": by, "why": why})
    while len(json.dumps(history)) > _HISTORY_CHARS and len(history) > 1:
        history.pop(0)  # the oldest goes first; the latest are kept
    registry.set_alias(alias, version)
    tags = {HISTORY_TAG: json.dumps(history)}
    if alias == "champion":
        tags |= {"promoted_by": by, "promoted_at": at, "promotion_reason": why}
    registry.tag_version(version, tags)


@dataclass
class HandPromotion:
    version: str
    previous: str | None  # the champion it replaced (now @challenger)
    already: bool  # it was the champion already: nothing changed (but a pin, if asked)
    pinned: bool
    pinned_before: bool = False  # it was the pinned champion already


def promote_by_hand(
    version: str,
    reason: str,
    by: str | None = None,
    pin: bool = False,
    registry: Registry | None = None,
) -> HandPromotion:
    """Make `version` the champion, recording who, when and why; the previous champion becomes
    @challenger. The champion promoted again keeps its record; `pin` stops routine runs from
    taking @champion back."""
    registry = registry or Registry()
    by = by or settings.os_user()
    registry.version(version)  # LookupError with a sentence if there is no such version
    champ = registry.champion()
    previous = str(champ.version) if champ is not None else None
    already = previous == str(version)
    pin_now = pinned(registry)
    pinned_before = bool(already and pin_now and str(pin_now["version"]) == str(version))
    if not already:
        registry.tag_version(version, {"promotion": f"champion (by hand, {by}): {reason}"})
        record_promotion(registry, version, "champion", by, reason)
        if previous:
            record_promotion(registry, previous, "challenger", by, f"version {version}: {reason}")
    if pin and not pinned_before:
        pin_record = {"version": str(version), "by": by, "at": now(), "reason": reason}
        registry.tag_model(PIN_TAG, json.dumps(pin_record))
    elif not already:
        registry.tag_model(PIN_TAG, None)  # a pin was on the version that was replaced
    return HandPromotion(
        str(version), None if already else previous, already, pin or pinned_before, pinned_before
    )


def unpin(registry: Registry | None = None) -> dict | None:
    """Take the pin off the champion; returns the pin that was there."""
    registry = registry or Registry()
    pin = pinned(registry)
    registry.tag_model(PIN_TAG, None)
    return pin


def apply_decision(registry: Registry, decision: dict, run_id: str) -> str | None:
    """Give the version the alias its run decided on. A champion changed (or pinned) by hand
    while the run trained is respected: the version is then @challenger. Returns a note."""
    version, alias = str(decision["version"]), decision["alias"]
    current = registry.champion()
    now_v = str(current.version) if current is not None else None
    pin = pinned(registry)
    note = None
    if alias == "champion" and now_v != version:
        moved = now_v != decision.get("previous")
        if moved or (pin and str(pin["version"]) == now_v):
            alias = "challenger"
            why = "made @champion by hand" if moved else "pinned as @champion"
            reason = f"challenger: version {now_v} was {why} while this run trained"
            registry.tag_version(version, {"promotion": reason})
            note = (
                f"Version {version} was to become @champion, but version {now_v} was {why} "
                "during the run; it is @challenger."
            )
    holder = registry.holder(alias)
    if holder is None or str(holder.version) != version:  # once: a roll forward may repeat
        record_promotion(
            registry, version, alias, f"hearth run {run_id[:8]}", decision_why(decision)
        )
    registry.tag_version(version, {"hearth.committed": f"Dagster run {run_id}"})
    return note


def decision_why(decision: dict) -> str:
    return str(decision.get("reason") or "the run's promotion gate")


def disown_versions(
    registry: Registry, dagster_run_id: str, why: str, previous: str | None = None
) -> list[str]:
    """Tag the versions registered by a Dagster run that did not commit (and end its MLflow
    training runs if they were left running). A version that somehow holds an alias gives it
    back: @champion returns to `previous`. Returns the versions tagged."""
    if not _DAGSTER_RUN_ID.fullmatch(dagster_run_id):
        return []  # checked: nothing else can reach the registry's filter
    runs = registry.runs_of(dagster_run_id)
    for r in runs:
        registry.tag_run(r.info.run_id, "hearth.interrupted", why)
        if r.info.status == "RUNNING":
            registry.end_run(r.info.run_id, why)
    ids = {r.info.run_id for r in runs}
    if not ids:
        return []
    aliases = registry.aliases()
    tagged = []
    for mv in registry.versions():
        if mv.run_id not in ids:
            continue
        version = str(mv.version)
        registry.tag_version(
            version, {"hearth.interrupted": why, "promotion": f"never promoted: {why}"}
        )
        for alias, holder in aliases.items():
            if holder == version:
                if alias == "champion" and previous:
                    registry.set_alias("champion", previous)
                else:
                    registry.delete_alias(alias)
        tagged.append(version)
    return tagged


class MlflowStore:
    """`hearth.operations.model_store.ModelStore` on the Registry: what a run's commit and
    recovery do to it."""

    def __init__(self, registry: Registry):
        self.registry = registry

    def apply_decision(self, decision: dict, run_id: str) -> str | None:
        return apply_decision(self.registry, decision, run_id)

    def disown_versions(self, run_id: str, why: str, previous: str | None = None) -> list[str]:
        return disown_versions(self.registry, run_id, why, previous)

    def end_stale_runs(self) -> int:
        return self.registry.end_stale_runs()

    def expire_versions(self, cutoff_month: str) -> list[str]:

        return expire_versions(self.registry, cutoff_month)
