"""First runs that several whole-run test files start from, each made once per test session
(tests/support/built_once.py) and copied by every file that uses it.

- `landing_world_first_run`: 1,000 households and 26 months (seed 23, the shortest history a run
  trains on), run once in-process with QUICK_TRAINING on 2026-01-20 (tests/e2e/
  test_landing_runs.py and test_removal_runs.py, which then break its landing each their own way).
- `live_first_run`: 800 households and 26 months (seed 11) with the newest month kept aside, run
  once by `hearth run` in a subprocess with one quick candidate (tests/live/
  test_operations_live.py and test_signals_live.py).
- `small_world_first_run`: the small world (tests/conftest.py: 2,000 households, 36 months,
  seed 11) run once in-process with FAST_TRAINING, with docs/capacity.example.yaml in the home
  and umask 022 (tests/e2e/test_pipeline_e2e.py and test_deliverables_e2e.py, which read it and
  run Hearth again on it, each in its own copy)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from hearth.months import MONTH_RE
from hearth.settings import PROJECT_ROOT
from tests.support.built_once import built_once, copy_of
from tests.support.environment import clear_hearth, without_hearth

LANDING_CLOCK = "2026-01-20"
LIVE_HOUSEHOLDS, LIVE_MONTHS = 800, 26
# Small, quick models: the live tests are about runs, signals, locks and servers, not model
# quality. Not the baseline alone: with 26 months its training date has no 12-month counts, so it
# gives every household the same score and the promotion gate refuses it
# (hearth/modelling/evaluation/gate.py).
LIVE_TRAINING = "candidates: [logistic]\nvalue_of_sharing: false\n"


def landing_world_first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with `landing/` (the world as landed) and `home/` (a HEARTH_HOME after one
    successful run on it). Copy both before changing either."""

    def build(folder: Path) -> None:
        from hearth.cli.launch import run_pipeline
        from hearth.synth import synthesise
        from tests.conftest import QUICK_TRAINING

        synthesise(folder / "landing", folder / "_truth", households=1000, months=26, seed=23)
        home = folder / "home"
        home.mkdir()
        mp = pytest.MonkeyPatch()
        clear_hearth(mp, HEARTH_HOME=str(home), HEARTH_CLOCK=LANDING_CLOCK)
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        try:
            first = run_pipeline(
                folder / "landing", train_config=QUICK_TRAINING, say=lambda _: None
            )
        finally:
            mp.undo()
        assert first.success, first.problems
        assert first.output_folder.name == "2026-01"

    return built_once(tmp_path_factory, "landing_world_first_run", build)


def private_landing_first_run(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, hearth_home: Path
) -> Path:
    """A private copy of the landing world's first run (`landing_world_first_run`): its landing
    at tmp_path/landing, its home at HEARTH_HOME; the landing's path."""
    made = landing_world_first_run(tmp_path_factory)
    copy_of(made / "landing", tmp_path / "landing")
    hearth_home.rmdir()
    copy_of(made / "home", hearth_home)
    return tmp_path / "landing"


def live_first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with `all/` (26 monthly extracts), `landing/` (all but the newest month),
    `training.yaml`, `newest` (the month kept aside, as text) and `home/` (a HEARTH_HOME that has
    published once from `landing/` through `hearth run`). Copy before changing anything."""

    def build(root: Path) -> None:
        from hearth.synth import synthesise

        synthesise(
            root / "all", root / "_truth", households=LIVE_HOUSEHOLDS, seed=11, months=LIVE_MONTHS
        )
        # a small register can have months with no changes: such a month sends a header and no
        # rows (a month with no file at all would be a gap in its history, which stops a run);
        # the month folders (the reference folder, e.g. the area names lookup, has none)
        months = sorted({p.name for p in (root / "all").glob("*/*") if MONTH_RE.match(p.name)})
        newest = months[-1]
        landing = root / "landing"
        shutil.copytree(
            root / "all", landing, ignore=lambda d, names: [n for n in names if n == newest]
        )
        assert all((landing / s / months[-2]).is_dir() for s in ("addresses", "health", "police"))
        (root / "newest").write_text(newest)
        (root / "training.yaml").write_text(LIVE_TRAINING)
        home = root / "home"
        home.mkdir()
        run = subprocess.run(
            [str(Path(sys.executable).parent / "hearth"), "run", "--landing", str(landing)]
            + ["--train-config", str(root / "training.yaml")],
            cwd=PROJECT_ROOT,
            env=without_hearth(HEARTH_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="200"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0 and "Published" in run.stdout, run.stdout[-3000:]

    return built_once(tmp_path_factory, "live_first_run", build)


def small_world_first_run(tmp_path_factory: pytest.TempPathFactory, small_world: Path) -> Path:
    """A folder with `landing/` (the small world's landing, copied), `home/` (a HEARTH_HOME after
    one successful run on it, with the capacity file a visit plan reads), `lines.txt` (the run's
    progress, one line each) and `outcome.json` (the run's outcome, its output folder relative
    to the home). Read it with `private_small_world_first_run`."""

    def build(folder: Path) -> None:
        from hearth.cli.launch import run_pipeline
        from tests.conftest import FAST_TRAINING

        shutil.copytree(small_world / "landing", folder / "landing")
        home = folder / "home"
        home.mkdir()
        # as a shell usually has: the run itself must make its files private
        umask = os.umask(0o022)
        mp = pytest.MonkeyPatch()
        clear_hearth(mp, HEARTH_HOME=str(home))
        lines: list[str] = []
        try:
            shutil.copyfile(PROJECT_ROOT / "docs" / "capacity.example.yaml", home / "capacity.yaml")
            outcome = run_pipeline(folder / "landing", train_config=FAST_TRAINING, say=lines.append)
        finally:
            mp.undo()
            os.umask(umask)
        (folder / "lines.txt").write_text("\n".join(lines))
        made = {
            "success": outcome.success,
            "problems": outcome.problems,
            "warnings": outcome.warnings,
            "model": outcome.model,
            # under the home, or this raises: a copy's output folder is the same place in it
            "output_folder": (
                outcome.output_folder.relative_to(home).as_posix()
                if outcome.output_folder
                else None
            ),
        }
        (folder / "outcome.json").write_text(json.dumps(made))

    return built_once(tmp_path_factory, "small_world_first_run", build)


def private_small_world_first_run(
    tmp_path_factory: pytest.TempPathFactory, small_world: Path, where: Path
) -> SimpleNamespace:
    """A private copy of `small_world_first_run` under `where`: `home`, `landing` (the very files
    it ran on), `outcome` (success, problems, warnings, model, output_folder in this copy) and
    `lines` (its progress)."""
    made = small_world_first_run(tmp_path_factory, small_world)
    home = copy_of(made / "home", where / "home")
    landing = copy_of(made / "landing", where / "landing")
    outcome = json.loads((made / "outcome.json").read_text())
    if outcome["output_folder"] is not None:
        outcome["output_folder"] = home / outcome["output_folder"]
    lines = (made / "lines.txt").read_text().split("\n")
    return SimpleNamespace(
        home=home, landing=landing, outcome=SimpleNamespace(**outcome), lines=lines
    )


__all__ = [
    "copy_of",
    "landing_world_first_run",
    "live_first_run",
    "private_small_world_first_run",
    "small_world_first_run",
]
