"""A partnership's one model (issue 28): trained once on the union of its authorities' feature
sets, registered once in the partnership's MLflow home (HEARTH_HOME's own store), and the
@champion every authority's `hearth run --part score` scores with. A small authority learns
from its neighbours' crises; each authority's scores, role views, re-identification and audit
stay in its own home.

Training is Hearth's one recipe (recipe.py: train_champion, in a run its stages: staged.py) on
the union of the authorities' warehouses (hearth/warehouse.py: union_of; each file opened read
only): hearth/features/build.py's load_window reads every attached warehouse's feature sets.

The completeness rule: the partnership model is retrained for a month only when the
authorities whose features for that month are present hold enough of the partnership's
households: every authority (the default), or, when the partnership declares a minimum share
(`hearth partnership run --min-share 0.8`), at least that share of the households in the
authorities' registers. Otherwise the last partnership model stays @champion and the
authorities that are ready publish with it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq

from hearth import settings
from hearth.features.design import Design
from hearth.sources import SOURCES
from hearth.warehouse import connect, union_of

FIXED_K = 1000  # the fixed-size list of the metrics, as a run's default (RunSettings.fixed_k)


@dataclass
class Completeness:
    """Whether a month's features are complete enough to retrain the partnership model."""

    month: str | None
    min_share: float | None  # None: every authority must be present
    holds: bool
    included: list[str]  # authorities whose features for the month are present
    missing: dict[str, str]  # authority: why it is not in, in words
    share: float  # of the partnership's households, in the included authorities

    @property
    def rule(self) -> str:
        if self.min_share is None:
            return "every authority's features for the month present"
        return (
            f"the authorities with features for the month hold at least {self.min_share:.0%} "
            "of the partnership's households"
        )

    def sentence(self) -> str:
        month = self.month or "the month"
        head = (
            f"The partnership model's rule ({self.rule}) "
            f"{'holds' if self.holds else 'does not hold'} for {month}: "
            f"{len(self.included)} authorit{'y' if len(self.included) == 1 else 'ies'} in, "
            f"{self.share:.0%} of the households."
        )
        outs = [f"{a} is not in: {why}" for a, why in sorted(self.missing.items())]
        return " ".join([head, *[o + "." for o in outs]])


def completeness(
    households: Mapping[str, int],
    present: Mapping[str, str | None],
    month: str | None,
    min_share: float | None = None,
) -> Completeness:
    """The rule, decided. `households`: each authority of the partnership and the households of
    its register (its weight); `present`: for each authority, None when its features for
    `month` are there, else why not (an authority missing from `present` is not there)."""
    if min_share is not None and not 0 < min_share <= 1:
        raise ValueError(
            f"The minimum share of households is a fraction above 0 up to 1, not {min_share}."
        )
    missing = {
        a: present.get(a) or "its features were not looked for"
        for a in households
        if a not in present or present[a] is not None
    }
    included = [a for a in sorted(households) if a not in missing]
    total = sum(households.values())
    share = sum(households[a] for a in included) / total if total else 0.0
    if month is None or not included:
        holds = False
    elif min_share is None:
        holds = not missing
    else:
        holds = share >= min_share
    return Completeness(month, min_share, holds, included, missing, share)


def register_households(landing: Path) -> int:
    """Households in the newest month of an authority's routed household register (the rows
    routing gave it: hearth/linkage/partnership.py), 0 if it has none."""
    register = next(s.name for s in SOURCES.values() if s.register_of == "household")
    months = sorted(p for p in (landing / register).glob("*") if p.is_dir())
    if not months:
        return 0
    files = sorted(months[-1].glob("*.parquet"))
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def authority_month(home: Path) -> str | None:
    """The month an authority's warehouse scores at (the month after its newest accepted
    extract), None if it has no warehouse or no extract yet. Opened read only."""
    warehouse = home / "warehouse.duckdb"
    if not warehouse.is_file():
        return None
    with connect(warehouse, read_only=True) as con:
        try:
            return Design.for_run(con, None).score_as_of
        except LookupError:
            return None


def features_missing(home: Path, month: str, own_month: str | None) -> str | None:
    """Why an authority's features for `month` cannot be trained on, or None when they can:
    its warehouse scores at `month` and its feature sets at the three dates (labels at the two
    that have them) are all there."""
    if own_month is None:
        return "it has no warehouse with extracts yet"
    if own_month != month:
        return f"its newest accepted extracts make it score at {own_month}, not {month}"
    design = Design.for_scoring(month)
    folder = home / "features"
    wanted = [f"features_{d}.parquet" for d in (design.train_as_of, design.valid_as_of, month)]
    wanted += [f"labels_{d}.parquet" for d in (design.train_as_of, design.valid_as_of)]
    absent = [w for w in wanted if not (folder / w).is_file()]
    if absent:
        return f"its feature sets for {month} are not built ({absent[0]} is not there)"
    return None


def judge_completeness(
    authorities: Iterable[str],
    stopped: Mapping[str, str] | None = None,
    min_share: float | None = None,
) -> Completeness:
    """The rule over every authority of the partnership as their homes stand: the month is the
    newest any authority scores at; an authority whose step stopped in this run (`stopped`:
    authority → why) is not in, whatever its files say."""
    stopped = dict(stopped or {})
    homes = {a: settings.authority_home(a) for a in authorities}
    households = {a: register_households(h / "landing") for a, h in homes.items()}
    months = {a: authority_month(h) for a, h in homes.items()}
    known = [m for m in months.values() if m]
    month = max(known) if known else None
    present: dict[str, str | None] = {}
    for a, home in homes.items():
        if a in stopped:
            present[a] = stopped[a]
        elif month is not None:
            present[a] = features_missing(home, month, months[a])
    return completeness(households, present, month, min_share)


@dataclass
class PartnershipModel:
    """What the partnership's model step did, for the run summary."""

    retrained: bool
    completeness: Completeness
    version: str | None = None  # the @champion every authority scores with after the step
    trained_version: str | None = None  # the version this step registered, if any
    alias: str | None = None
    reason: str = ""
    refused: str | None = None  # the gate's sentence for a version it refused
    notes: list[str] = field(default_factory=list)

    def as_record(self) -> dict:
        c = self.completeness
        return {
            "retrained": self.retrained,
            "champion_version": self.version,
            "trained_version": self.trained_version,
            "alias": self.alias,
            "reason": self.reason,
            "refused": self.refused,
            "month": c.month,
            "rule": c.rule,
            "rule_holds": c.holds,
            "in": c.included,
            "not_in": c.missing,
            "share_of_households": round(c.share, 4),
            "sentence": c.sentence(),
            "notes": self.notes,
        }


def current_champion(tracking_uri: str | None = None) -> str | None:
    """The partnership's @champion version, None before its first model."""
    from hearth.modelling.registry.client import Registry  # mlflow on use

    champ = Registry(tracking_uri or settings.mlflow_tracking_uri()).champion()
    return str(champ.version) if champ is not None else None


def _kept(rule: Completeness, uri: str, say: Callable[[str], None]) -> PartnershipModel:
    version = current_champion(uri)
    kept = f"version {version} stays @champion" if version else "there is no model yet"
    say(f"{rule.sentence()} Not retrained: {kept}.")
    return PartnershipModel(False, rule, version, reason=f"not retrained: {kept}")


def _refused(rule: Completeness, sentence: str, uri: str, say) -> PartnershipModel:
    say(f"The partnership model was refused: {sentence}")
    return PartnershipModel(
        True, rule, current_champion(uri), refused=sentence, reason="refused by the gate"
    )


def _trained(rule: Completeness, trained, uri: str, say) -> PartnershipModel:
    d = trained.decision
    say(f"Partnership model version {d.version} is @{d.alias}: {d.reason}")
    return PartnershipModel(
        True,
        rule,
        current_champion(uri),
        trained_version=str(d.version),
        alias=d.alias,
        reason=d.reason,
        notes=list(trained.result.notes),
    )


def _union(rule: Completeness) -> tuple[list[Path], Design]:
    paths = [settings.authority_home(a) / "warehouse.duckdb" for a in rule.included]
    with union_of(paths) as con:
        design = Design.for_run(con, rule.month)
    return paths, design


def _run_tags(rule: Completeness) -> dict[str, str]:
    return {"hearth.partnership": ",".join(rule.included)}


def _params(train_config: dict | None):
    from hearth.modelling.training.params import TrainParams

    return TrainParams.from_config(SimpleNamespace(**(train_config or {})))


def _progress(say: Callable[[str], None]) -> Callable[[str], None]:
    return lambda m: say(f"  partnership model: {m}")


def train_partnership_model(
    rule: Completeness,
    train_config: dict | None = None,
    say: Callable[[str], None] = print,
) -> PartnershipModel:
    """Train the partnership's model once on the included authorities' feature sets, when
    `rule` holds; register it in the partnership's store (HEARTH_HOME's MLflow), where it
    becomes @champion at once if it is at least as good as the current one (the promotion
    gate's rule). When the rule does not hold, nothing is trained: the last model stays.
    In one call; the partnership's run makes the same calls in steps (`ModelTraining`)."""
    from hearth.modelling.training.recipe import Refused, train_champion

    uri = settings.mlflow_tracking_uri()
    if not rule.holds:
        return _kept(rule, uri, say)
    say(f"{rule.sentence()} Training the partnership model once on their households.")
    paths, design = _union(rule)
    try:
        trained = train_champion(
            lambda: union_of(paths),
            design,
            _params(train_config),
            FIXED_K,
            uri,
            lambda _key, _value: False,  # not a Dagster run: the alias moves at once
            _run_tags(rule),
            info=_progress(say),
            warn=_progress(say),
        )
    except Refused as e:
        return _refused(rule, e.refusal.sentence, uri, say)
    return _trained(rule, trained, uri, say)


def model_work_dir(run_id: str) -> Path:
    """Where a partnership run's model steps leave their windows and fits for each other:
    HEARTH_HOME/partnership/model_work/<run id>, cleared when the version is registered."""
    return settings.partnership_dir() / "model_work" / run_id


@dataclass
class ModelTraining:
    """The partnership model's steps as they go (hearth/modelling/training/staged.py): either
    decided (`model`: not retrained, or refused by the gate) or under way in the folder
    `work`, from which each next step reads."""

    rule: Completeness
    model: PartnershipModel | None = None
    work: str | None = None


def begin_partnership_model(
    rule: Completeness,
    retrain: bool,
    train_config: dict | None,
    work: Path,
    say: Callable[[str], None] = print,
) -> tuple[ModelTraining, list[str]]:
    """The partnership model's first step: decided at once when it is not retrained or the
    rule does not hold (as `train_partnership_model`), else the windows read into `work`.
    Returns the step's record and the units to fit next (none when decided)."""
    from hearth.modelling.training import staged
    from hearth.modelling.training.recipe import Refused

    uri = settings.mlflow_tracking_uri()
    if not retrain:
        return ModelTraining(rule, kept_model(rule, uri, say)), []
    if not rule.holds:
        return ModelTraining(rule, _kept(rule, uri, say)), []
    say(f"{rule.sentence()} Training the partnership model once on their households.")
    paths, design = _union(rule)
    # older runs' folders (a run stopped mid-way) are not read again
    shutil.rmtree(work.parent, ignore_errors=True)
    try:
        units = staged.begin(
            staged.Work(work),
            lambda: union_of(paths),
            design,
            _params(train_config),
            FIXED_K,
            _run_tags(rule),
            info=_progress(say),
            warn=_progress(say),
        )
    except Refused as e:
        staged.Work(work).clear()
        return ModelTraining(rule, _refused(rule, e.refusal.sentence, uri, say)), []
    return ModelTraining(rule, work=str(work)), units


def kept_model(rule: Completeness, uri: str, say: Callable[[str], None]) -> PartnershipModel:
    """Not retrained (an authority run alone): the current @champion scores."""
    version = current_champion(uri)
    why = "not retrained: an authority run alone scores with the partnership's current model"
    model = PartnershipModel(False, rule, version, reason=f"{why} (version {version})")
    say(f"The partnership model is not retrained; {model.reason}.")
    return model


def fit_partnership_unit(training: ModelTraining, unit: str, say=print) -> None:
    """One of the partnership model's fits (a candidate's, the refit's or value-of-sharing
    refits'), in a step of its own."""
    from hearth.modelling.training import staged

    if training.work is not None:
        staged.fit(staged.Work(training.work), unit, _progress(say))


def choose_partnership_model(training: ModelTraining, say=print) -> tuple[list[str], list[str]]:
    """The candidates judged, the choice made; the next units: the refit's, the sharing's."""
    from hearth.modelling.training import staged

    if training.work is None:
        return [], []
    return staged.choose(staged.Work(training.work), _progress(say))


def pool_partnership_refit(training: ModelTraining, say=print) -> None:
    """The chosen trees' refit's folds pooled (beside the value-of-sharing refits)."""
    from hearth.modelling.training import staged

    if training.work is not None:
        staged.pool_refit(staged.Work(training.work), _progress(say))


def finish_partnership_model(training: ModelTraining, say=print) -> PartnershipModel:
    """The partnership model's last step: registered (and promoted, by the gate's rule), or
    refused; or what the first step decided."""
    from hearth.modelling.training import staged
    from hearth.modelling.training.recipe import Refused

    if training.model is not None:
        return training.model
    uri, rule = settings.mlflow_tracking_uri(), training.rule
    try:
        trained = staged.finish(
            staged.Work(training.work),
            uri,
            lambda _key, _value: False,  # not a Dagster run of a home: the alias moves at once
            info=_progress(say),
            warn=_progress(say),
        )
    except Refused as e:
        staged.Work(training.work).clear()
        return _refused(rule, e.refusal.sentence, uri, say)
    return _trained(rule, trained, uri, say)
