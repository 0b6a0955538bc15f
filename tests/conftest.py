"""Shared fixtures: a small synthetic world (made once per test process), a clean HEARTH_HOME
for each test that runs Hearth (every Hearth variable unset, the machine's others kept:
tests/support/environment.py), the `slow` mark for tests that run the whole pipeline, and the
Hypothesis settings every property test runs under."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.environment import clear_hearth

# No per-example deadline: a property's examples are judged on what they return, not on how
# fast a shared machine runs them (speed is measured in benchmarks/).
settings.register_profile("hearth", deadline=None)
settings.load_profile("hearth")

# Tests that run the whole pipeline (or a server, or a real install) are `slow`, wherever they
# are: everything under these folders, and any test using one of these fixtures.
WHOLE_RUN_FOLDERS = ("e2e", "live")
WHOLE_RUN_FIXTURES = {"first_run", "delivered", "stages"}

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
    clear_hearth(monkeypatch, HEARTH_HOME=str(home))
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        folder = Path(item.path).relative_to(tests).parts[0]
        if folder in WHOLE_RUN_FOLDERS or WHOLE_RUN_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
