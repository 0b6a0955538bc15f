"""The champion recipe (recipe.py: `train_champion`) in stages, for a partnership's run
(issue 28): its fits are independent of each other, so each can be a step of its own and the
executor runs as many at once as it has room for. The very same calls as `train_champion`
makes, in this order:

1. `begin`: the windows read and made safe (`prepare_training`); one unit per candidate's fit
   (`candidate_<kind>`: hearth/modelling/training/units.py `fit_units`: the regression and the
   trees, each cross-fitted; the ensemble is made from their fits and the baseline is fitted
   in no time when they are put together), the trees' as one unit per fold
   (`candidate_gradient_boosting_fold_<f>`: units.py `fold_units`) when they are cross-fitted
   with out-of-fold stopping;
2. `fit` each unit (any order, at once);
3. `choose`: the trees' folds pooled (the kept count, the trees at it on every household:
   units.py `pool_folds`), the candidates put together, calibrated and judged, the choice made;
   the next units, in two lists: the chosen candidate's refit on T-12 (`refit_<kind>`, one per
   unit of its fit, in folds as in 1) and the value-of-sharing refits in groups (`sharing_<g>`),
   all independent of each other;
4. `fit` each of those (at once), and `pool_refit` once the refit's are fitted (the refit's
   folds pooled, beside the value-of-sharing refits);
5. `finish`: the value-of-sharing table, the gate, the refit put together, the card, MLflow's
   version and the promotion (`register`).

What passes between stages are files in one folder (`Work`): the windows and the fits, each
pickled and written whole or not at all (hearth/atomic.py), read by whichever process runs the
next stage. Nothing is computed differently from `train_champion`: the model, its card and the
lists it scores are the same bytes (tests/unit/modelling/test_staged_training.py)."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from hearth.atomic import write_atomically
from hearth.features.catalogue import load_catalogue
from hearth.features.design import Design
from hearth.modelling.evaluation.gate import model_refusal
from hearth.modelling.registry.client import Registry
from hearth.modelling.training.params import TrainParams
from hearth.modelling.training.recipe import (
    Prepared,
    Trained,
    check_model,
    prepare_training,
    register,
)
from hearth.modelling.training.threads import fitting_threads

CANDIDATE, REFIT, SHARING = "candidate_", "refit_", "sharing_"
SHARING_STEPS = 2  # the value-of-sharing refits in this many units (rows dealt round)


class Work:
    """The files of one staged training, in one folder."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def put(self, name: str, value: object) -> None:
        def write(tmp: Path) -> None:  # streamed to the file: no second copy in memory
            with tmp.open("wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)

        write_atomically(self.folder / f"{name}.pickle", write)

    def get(self, name: str):
        path = self.folder / f"{name}.pickle"
        if not path.is_file():
            raise FileNotFoundError(
                f"The staged training's {name} is not in {self.folder}: the stage that writes "
                "it has not run, or the folder was cleared. Run the partnership model's steps "
                "again from the first."
            )
        with path.open("rb") as f:
            return pickle.load(f)  # noqa: S301 (written by this run's own stages)

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Plan:
    """What every stage reads besides the frames."""

    params: TrainParams  # as given (the refit sizes its own)
    sized: TrainParams  # sized to the training window's crises: the candidates' and sharing's
    kinds: list[str]
    names: list[str]
    fixed_k: int
    kind: str | None = None  # the chosen candidate, once chosen
    refused: bool = False  # the gate refuses the judged model (`finish` logs it so)
    sharing_units: int = 0
    refits: tuple[str, ...] = ()  # the refit's units (`choose`), folds pooled by `pool_refit`
    refit_count: int | None = None  # the judged trees' best count for the refit (refit_count.py)


def _prepared(work: Work, raw: bool = True) -> Prepared:
    """The prepared training with its validation window; the validation date's uncapped
    features too with `raw` (only `finish` logs them; the choice step leaves them on disk)."""
    prep = work.get("prepared")
    prep.valid = work.get("valid")
    prep.raw_valid = work.get("raw_valid") if raw else None
    return prep


def begin(
    work: Work,
    open_warehouse: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    design: Design,
    params: TrainParams,
    fixed_k: int,
    run_tags: dict[str, str],
    info: Callable[[str], None] = lambda _: None,
    warn: Callable[[str], None] = lambda _: None,
) -> list[str]:
    """Stage 1: the windows, into `work`; returns the candidates' units. Raises `Refused` for
    windows the gate refuses (recipe.py: `prepare_training`)."""
    from hearth.modelling.training.selection import candidate_kinds, sized_params
    from hearth.modelling.training.units import fold_units  # sklearn

    work.clear()
    prep = prepare_training(open_warehouse, design, params, run_tags, info, warn)
    sized = sized_params(prep.train, params, info)
    plan = Plan(params, sized, candidate_kinds(sized), prep.names, fixed_k)
    units = [CANDIDATE + u for u in fold_units(plan.kinds, sized, len(prep.train.y))]
    if prep.stacks_years():  # two years' refit stacks the training window's rows: before they go
        work.put("latest", prep.latest())
    work.put("train", prep.train)
    prep.train = None
    work.put("valid", prep.valid)
    if params.refit_on_latest and not prep.stacks_years():
        work.put("latest", prep.latest())
    prep.valid = None
    work.put("raw_valid", prep.raw_valid)
    prep.raw_valid = None
    work.put("prepared", prep)
    work.put("plan", plan)
    return units


def fit(work: Work, unit: str, info: Callable[[str], None] = lambda _: None) -> None:
    """Stages 2 and 4: one unit's fit, into `work` under the unit's name."""
    from hearth.modelling.training.units import fit_fold, fit_unit, split_fold  # sklearn

    plan: Plan = work.get("plan")
    if unit.startswith((CANDIDATE, REFIT)):
        window, names, params, what = _window(work, plan, unit)
        kind, fold = split_fold(unit.removeprefix(REFIT if what == "refit" else CANDIDATE))
        part = "" if fold is None else f" (fold {fold})"
        info(f"{what}ting the {kind.replace('_', ' ')}{part} on {window.as_of}")
        X, y, pids = window.X(names), window.y, window.pids
        if fold is None:
            work.put(unit, fit_unit(kind, X, y, pids, names, params))
        else:
            work.put(unit, fit_fold(kind, fold, X, y, pids, names, params))
    elif unit.startswith(SHARING):
        from hearth.modelling.evaluation.sharing_refits import sharing_fit

        group = int(unit.removeprefix(SHARING))
        sharing = work.get("sharing_plan")
        train, valid, cat = work.get("train"), work.get("valid"), load_catalogue()
        rows = range(group, len(sharing.sets), plan.sharing_units)
        with fitting_threads(plan.sized):
            fits = {
                row: sharing_fit(sharing, row, train, valid, cat, plan.names, plan.kind, info)
                for row in rows
            }
        work.put(unit, fits)
    else:
        raise ValueError(
            f"'{unit}' is not a unit of the staged training: its units begin with "
            f"{CANDIDATE}, {REFIT} or {SHARING}."
        )


def _window(work: Work, plan: Plan, unit: str):
    """The window a candidate's or the refit's unit is fitted on, its features, parameters and
    what it is ("fit" or "refit")."""
    if unit.startswith(CANDIDATE):
        return work.get("train"), plan.names, plan.sized, "fit"
    from hearth.modelling.training.selection import refit_params

    latest, names, _ = work.get("latest")
    return latest, names, refit_params(latest, plan.params, plan.refit_count), "refit"


def _pooled(work: Work, prefix: str, kinds, window, names, params) -> dict[str, object]:
    """`kinds`' units as `fit_unit` makes them, each fit in folds pooled from its folds'
    fits (units.py: `pool_folds`), the others as fitted."""
    from hearth.modelling.training.units import FOLD, fit_units, in_folds, pool_folds

    out: dict[str, object] = {}
    for u in fit_units(kinds):
        if not in_folds(u, params, len(window.y)):
            out[u] = work.get(prefix + u)
            continue
        folds = {f: work.get(f"{prefix}{u}{FOLD}{f}") for f in range(params.crossfit_folds)}
        X = window.X(names)
        out[u] = pool_folds(u, folds, X, window.y, window.pids, names, params)
    return out


def choose(work: Work, info: Callable[[str], None] = lambda _: None) -> tuple[list[str], list[str]]:
    """Stage 3: the candidates' fits put together (the trees' folds pooled) and judged
    (recipe.py: `train_and_evaluate` up to the value of sharing); returns the next units: the
    chosen candidate's refit's (none for a model the gate refuses: `finish` logs it refused,
    with its value of sharing, as `train_champion` does) and the value-of-sharing refits'."""
    from hearth.modelling.evaluation.sharing_refits import sharing_plan
    from hearth.modelling.training.refit_count import judged_count
    from hearth.modelling.training.selection import judge, refit_params
    from hearth.modelling.training.units import fitted_from_units, fold_units

    plan: Plan = work.get("plan")
    train = work.get("train")
    units = _pooled(work, CANDIDATE, plan.kinds, train, plan.names, plan.sized)
    fitted = fitted_from_units(
        plan.kinds, units, lambda: train.X(plan.names), train.y, plan.names, plan.sized
    )
    with fitting_threads(plan.sized):
        count = None
        if plan.params.refit_iterations != "own":  # as train_and_evaluate does
            X = train.X(plan.names)
            count = judged_count(X, train.y, train.pids, plan.names, work.get("valid"), plan.sized)
            del X
        # The training year's features are not read again here: they are freed before the
        # validation year is read and its matrix made, so that the two years' frames (each
        # about 1.5 GB at a million households) and a matrix are never held at once.
        train = replace(train, frame=train.frame.select("household_pid"))
        prep = _prepared(work, raw=False)
        result = judge(
            train, prep.valid, fitted, plan.sized, plan.fixed_k, info, plan.names, prep.cap
        )
        if plan.params.refit_iterations != "own":
            result.refit_iterations = plan.refit_count = count
    plan.kind = result.kind
    plan.refused = model_refusal(result, prep.valid.y) is not None
    shared: list[str] = []
    if plan.params.value_of_sharing:
        sharing = sharing_plan(train, load_catalogue(), plan.sized)
        work.put("sharing_plan", sharing)
        plan.sharing_units = min(SHARING_STEPS, len(sharing.sets))
        shared = [f"{SHARING}{g}" for g in range(plan.sharing_units)]
    if plan.params.refit_on_latest and not plan.refused:
        latest = work.get("latest")[0]
        if latest.y.sum() > 0:
            params = refit_params(latest, plan.params, plan.refit_count)
            plan.refits = tuple(REFIT + u for u in fold_units([result.kind], params, len(latest.y)))
    work.put("judged", result)
    work.put("plan", plan)
    return list(plan.refits), shared


def pool_refit(work: Work, info: Callable[[str], None] = lambda _: None) -> None:
    """Stage 4's last part, once the refit's units are fitted: a refit in folds pooled (the
    kept count, the trees at it on every household of T-12) into its whole unit, as `fit`
    would have written it in one call; nothing for a refit not in folds, or none."""
    from hearth.modelling.training.units import FOLD

    plan: Plan = work.get("plan")
    if not any(FOLD in u for u in plan.refits):
        return
    latest, names, params, _ = _window(work, plan, plan.refits[0])
    info(f"pooling the {plan.kind.replace('_', ' ')}'s refit's folds on {latest.as_of}")
    for unit, fit in _pooled(work, REFIT, [plan.kind], latest, names, params).items():
        if f"{REFIT}{unit}{FOLD}0" in plan.refits:  # the others are as their step wrote them
            work.put(REFIT + unit, fit)


def finish(
    work: Work,
    tracking_uri: str,
    stage: Callable[[str, dict], bool],
    info: Callable[[str], None] = lambda _: None,
    warn: Callable[[str], None] = lambda _: None,
) -> Trained:
    """Stage 5: the value-of-sharing table, the gate (a refused model logged as refused:
    raises `Refused`), the refit put together, then logged, registered and promoted
    (recipe.py: `register`). The folder is cleared once the version is registered."""
    from hearth.modelling.evaluation.sharing_refits import sharing_table
    from hearth.modelling.training.selection import kept_without_refit, refit_params, refitted
    from hearth.modelling.training.units import fit_units, fitted_from_units

    plan: Plan = work.get("plan")
    prep, result = _prepared(work), work.get("judged")
    if plan.params.value_of_sharing:
        sharing = work.get("sharing_plan")
        fits: dict = {}
        for g in range(plan.sharing_units):
            fits |= work.get(f"{SHARING}{g}")
        with fitting_threads(plan.sized):
            model = (plan.names, result.train_rows, result.metrics, result.valid_scores)
            rows = [fits[row] for row in range(len(sharing.sets))]
            result.sharing = sharing_table(sharing, rows, prep.valid, model, plan.fixed_k, info)
    check_model(result, prep, plan.fixed_k, Registry(tracking_uri))
    if plan.params.refit_on_latest:
        latest, names, cap = work.get("latest")
        info(
            f"refitting the {result.kind.replace('_', ' ')} on {prep.design.valid_as_of} "
            f"({prep.latest_history} months of history: {len(names)} features usable)"
        )
        if latest.y.sum() == 0:
            result = kept_without_refit(result, latest)
        else:
            params = refit_params(latest, plan.params, plan.refit_count)
            units = {u: work.get(REFIT + u) for u in fit_units([result.kind])}
            checks: dict = {}
            model = fitted_from_units(
                [result.kind], units, lambda: latest.X(names), latest.y, names, params, checks
            )[result.kind]
            result = refitted(result, model, checks, latest, names, cap)
        del latest
    trained = register(result, prep, plan.fixed_k, tracking_uri, stage, warn)
    work.clear()
    return trained
