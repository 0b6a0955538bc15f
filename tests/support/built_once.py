"""Expensive set-up made once per test session and copied by each test file that starts from it.

A whole first run (a synthetic world landed, ingested, trained and published into a HEARTH_HOME)
costs a minute or more of a CI worker. Test files that start from the very same first run (the
same world, settings and clock) share it: the first to ask builds it, under a file lock, in a
folder every xdist worker of this session sees (the session's base temporary folder, above each
worker's own); the others wait for it and copy it. Each test file works on its own copy, so no
test sees another's changes. A copied home is a home moved elsewhere, which Hearth supports
(MLflow's artifact locations follow it: hearth/modelling/registry/client.py `relocate`).

Under `pytest -n 0` (or a single file) the first caller simply builds it in this process."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

DONE = ".built"


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder that every worker of this test session sees, and no other session."""
    base = tmp_path_factory.getbasetemp()
    # under xdist each worker's base folder sits inside the session's own
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared = root / "built_once"
    shared.mkdir(exist_ok=True)
    return shared


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """The folder `name`, made by `build(folder)` the first time any worker asks for it in this
    session. Read it, never change it: copy it (`copy_of`) to work on it."""
    shared = shared_root(tmp_path_factory)
    folder = shared / name
    with FileLock(str(shared / f"{name}.lock")):
        if not (folder / DONE).exists():
            if folder.exists():  # a build that failed part-way: start again
                shutil.rmtree(folder)
            folder.mkdir()
            build(folder)
            (folder / DONE).touch()
    return folder


def copy_of(folder: Path, to: Path) -> Path:
    """A private copy of a folder made by `built_once` (symbolic links kept as links)."""
    shutil.copytree(folder, to, symlinks=True, ignore=shutil.ignore_patterns(DONE))
    return to
