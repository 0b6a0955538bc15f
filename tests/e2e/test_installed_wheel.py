"""Hearth installed from its wheel into a clean virtual environment (no checkout on the path)
runs `hearth synth` and `hearth run` from another folder: what `pip install` gives a council.

The wheel is built with uv and installed with the locked dependencies from uv's cache (offline),
so the test needs no network. One slow test (about a minute and a half)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth import settings
from tests.support.disk import on_disk
from tests.support.environment import without_hearth

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[2]
# The installed package running from elsewhere is the point, not the model: one quick candidate
# and no value-of-sharing refits (as tests/live/ train), on 26 months, the shortest history a run
# trains on (not the baseline alone: with 26 months it scores every household the same and the
# promotion gate refuses it).
TRAINING = "candidates: [logistic]\nvalue_of_sharing: false\n"
MONTHS = "26"


def _uv() -> str:
    """The project's own uv (`make` installs it in .tools/ beside the venv), else one on PATH."""
    import shutil

    for candidate in (
        os.environ.get("UV"),
        CHECKOUT / ".tools" / "bin" / "uv",
        Path(sys.prefix).parent / ".tools" / "bin" / "uv",  # the venv's project (a worktree)
        shutil.which("uv"),
    ):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail("uv is needed to build the wheel: run `make test`, which installs it in .tools/")


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that would point at the checkout or another home."""
    return without_hearth(drop=("PYTHONPATH", "VIRTUAL_ENV", "UV_PROJECT"), **extra)


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{cmd[:3]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    return done


@pytest.fixture(scope="module")
def installed() -> Iterator[tuple[Path, Path]]:
    """(the wheel, the clean venv's bin folder), on disk beside uv's cache: uv links the
    packages there instead of copying them (tests/support/disk.py)."""
    if not (CHECKOUT / "pyproject.toml").is_file():
        pytest.fail("this test builds the wheel from a checkout")
    with on_disk("wheel") as tmp:
        yield _install(tmp)


def _install(tmp: Path) -> tuple[Path, Path]:
    uv = _uv()
    env = _clean_env()
    _run([uv, "build", "--wheel", "--offline", "-q", "-o", str(tmp / "dist")], CHECKOUT, env, 300)
    (wheel,) = (tmp / "dist").glob("hearth-*.whl")
    venv = tmp / "venv"
    # the locked dependencies only (not Hearth itself), from uv's cache; then the wheel alone
    sync = [uv, "sync", "--frozen", "--offline", "-q", "--no-dev", "--no-install-project"]
    sync += ["--python", f"{sys.version_info.major}.{sys.version_info.minor}"]
    _run(sync, CHECKOUT, {**env, "UV_PROJECT_ENVIRONMENT": str(venv)}, 600)
    install = [uv, "pip", "install", "--offline", "-q", "--no-deps", "--python"]
    _run([*install, str(venv / "bin" / "python"), str(wheel)], tmp, env, 300)
    return wheel, venv / "bin"


def test_the_wheel_holds_every_file_the_code_reads(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in settings.PROJECT_FILES:
        src = CHECKOUT / shipped
        files = [src] if src.is_file() else [p for p in src.rglob("*") if p.is_file()]
        assert files, shipped
        for f in files:
            inside = f"hearth/{settings.PACKAGED_PROJECT}/{f.relative_to(CHECKOUT).as_posix()}"
            assert inside in names, f"{inside} is not in the wheel"
    assert "hearth/definitions.py" in names and "hearth/modelling/scoring/lead_agency.yaml" in names


def test_installed_hearth_runs_synth_and_run_from_another_folder(installed, tmp_path):
    _, bin_dir = installed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    home = tmp_path / "home"
    env = _clean_env(HEARTH_HOME=str(home))
    where = _run(
        [str(bin_dir / "python"), "-c", "import hearth; print(hearth.__file__)"],
        elsewhere,
        env,
        120,
    ).stdout.strip()
    assert Path(where).is_relative_to(bin_dir.parent), where  # not the checkout's
    hearth = str(bin_dir / "hearth")
    _run(
        [hearth, "synth", "--out", "w/landing", "--truth", "w/truth", "--households", "1200"]
        + ["--months", MONTHS],
        elsewhere,
        env,
        300,
    )
    (elsewhere / "training.yaml").write_text(TRAINING)
    run = [hearth, "run", "--landing", "w/landing", "--train-config", "training.yaml"]
    done = _run(run, elsewhere, env, 900)
    assert "Published" in done.stdout
    folder = home / "outputs" / "2026-01"
    assert (folder / "ranked_households.csv").is_file() and (folder / "report.html").is_file()
    summary = json.loads((folder / "run_summary.json").read_text())
    assert summary["as_of"] == "2026-01"
    shipped = (CHECKOUT / "dagster.yaml").read_bytes()
    assert (home / "dagster" / "dagster.yaml").read_bytes() == shipped
