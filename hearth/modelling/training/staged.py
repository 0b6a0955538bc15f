"""The champion recipe (recipe.py: `train_champion`) in stages, for a partnership's run
(issue 28): its fits are independent of each other, so each can be a step of its own and the
executor runs as many at once as it has room for. The very same calls as `train_champion`
makes, in this order:

1. `begin`: the windows read and made safe (`prepare_training`); one unit per candidate's fit
   (`candidate_<kind>`: hearth/modelling/training/fit.py `fit_units`: the regression and the
   trees, each cross-fitted; the ensemble is made from their fits and the baseline is fitted
   in no time when they are put together);
2. `fit` each unit (any order, at once);
3. `choose`: the candidates put together, calibrated and judged, the choice made; the next
   units: the chosen candidate's refit on T-12 (`refit_<kind>`, one per unit of its fit) and the
   value-of-sharing refits in groups (`sharing_<g>`), all independent of each other;
4. `fit` each of those (at once);
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
from dataclasses import dataclass
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


def _prepared(work: Work) -> Prepared:
    prep = work.get("prepared")
    prep.valid = work.get("valid")
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
    from hearth.modelling.training.units import fit_units  # sklearn

    work.clear()
    prep = prepare_training(open_warehouse, design, params, run_tags, info, warn)
    sized = sized_params(prep.train, params, info)
    plan = Plan(params, sized, candidate_kinds(sized), prep.names, fixed_k)
    work.put("train", prep.train)
    prep.train = None
    work.put("valid", prep.valid)
    if params.refit_on_latest:
        work.put("latest", prep.latest())
    prep.valid = None
    work.put("prepared", prep)
    work.put("plan", plan)
    return [CANDIDATE + u for u in fit_units(plan.kinds)]


def fit(work: Work, unit: str, info: Callable[[str], None] = lambda _: None) -> None:
    """Stages 2 and 4: one unit's fit, into `work` under the unit's name."""
    from hearth.modelling.training.units import fit_unit  # sklearn

    plan: Plan = work.get("plan")
    if unit.startswith(CANDIDATE):
        kind = unit.removeprefix(CANDIDATE)
        train = work.get("train")
        info(f"fitting the {kind.replace('_', ' ')} candidate")
        X = train.X(plan.names)
        work.put(unit, fit_unit(kind, X, train.y, train.pids, plan.names, plan.sized))
    elif unit.startswith(REFIT):
        from hearth.modelling.training.selection import refit_params

        kind = unit.removeprefix(REFIT)
        latest, names, _ = work.get("latest")
        info(f"refitting the {kind.replace('_', ' ')} on {latest.as_of}")
        X = latest.X(names)
        work.put(
            unit, fit_unit(kind, X, latest.y, latest.pids, names, refit_params(latest, plan.params))
        )
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


def choose(work: Work, info: Callable[[str], None] = lambda _: None) -> list[str]:
    """Stage 3: the candidates' fits put together and judged (recipe.py: `train_and_evaluate`
    up to the value of sharing); returns the next units: the chosen candidate's refit and the
    value-of-sharing refits (none for a model the gate refuses: `finish` logs it refused, with
    its value of sharing, as `train_champion` does)."""
    from hearth.modelling.evaluation.sharing_refits import sharing_plan
    from hearth.modelling.training.selection import judge
    from hearth.modelling.training.units import fit_units, fitted_from_units

    plan: Plan = work.get("plan")
    prep, train = _prepared(work), work.get("train")
    units = {u: work.get(CANDIDATE + u) for u in fit_units(plan.kinds)}
    fitted = fitted_from_units(
        plan.kinds, units, lambda: train.X(plan.names), train.y, plan.names, plan.sized
    )
    with fitting_threads(plan.sized):
        result = judge(
            train, prep.valid, fitted, plan.sized, plan.fixed_k, info, plan.names, prep.cap
        )
    plan.kind = result.kind
    plan.refused = model_refusal(result, prep.valid.y) is not None
    out: list[str] = []
    if plan.params.value_of_sharing:
        sharing = sharing_plan(train, load_catalogue(), plan.sized)
        work.put("sharing_plan", sharing)
        plan.sharing_units = min(SHARING_STEPS, len(sharing.sets))
        out += [f"{SHARING}{g}" for g in range(plan.sharing_units)]
    if plan.params.refit_on_latest and not plan.refused:
        latest = work.get("latest")[0]
        if latest.y.sum() > 0:
            out = [REFIT + u for u in fit_units([result.kind])] + out
    work.put("judged", result)
    work.put("plan", plan)
    return out


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
            params = refit_params(latest, plan.params)
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
