"""Shared fixtures: a small synthetic world (made once per test process) and a clean
HEARTH_HOME for each test that runs the pipeline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SMALL_HOUSEHOLDS = 2000
# Small models keep the end-to-end test quick; the real defaults are measured in benchmarks/.
FAST_TRAINING = {"max_iter": 60, "max_leaf_nodes": 15, "min_samples_leaf": 20}


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """A 36-month synthetic world: `landing/` and `_truth/` under the returned folder."""
    from hearth.synth import synthesise

    root = tmp_path_factory.mktemp("world")
    synthesise(root / "landing", root / "_truth", households=SMALL_HOUSEHOLDS, seed=11)
    return root


@pytest.fixture
def hearth_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "hearth_home"
    home.mkdir()
    monkeypatch.setenv("HEARTH_HOME", str(home))
    for var in (
        "DAGSTER_HOME",
        "MLFLOW_TRACKING_URI",
        "HEARTH_LANDING",
        "HEARTH_WAREHOUSE",
        "HEARTH_OUTPUTS",
    ):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def landing_copy(small_world, tmp_path) -> Path:
    """A private copy of the small world's landing tree that a test may break."""
    dst = tmp_path / "landing"
    shutil.copytree(small_world / "landing", dst)
    return dst


@pytest.fixture(scope="session")
def quality_world(tmp_path_factory):
    """The quality-gate corpus's small valid world (tests/support/quality_corpus.py), made once."""
    from tests.support.quality_corpus import World, make_world

    return World(make_world(tmp_path_factory.mktemp("quality_world")))
