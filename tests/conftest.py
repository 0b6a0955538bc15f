"""Shared fixtures: a small synthetic world (made once per test process), a clean HEARTH_HOME
for each test that runs Hearth (every Hearth variable unset, the machine's others kept:
tests/support/environment.py), the `slow` mark for tests that run the whole pipeline, and the
Hypothesis settings every property test runs under."""

from __future__ import annotations

import os
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

# The longest runs of all are `heavy` as well: several whole runs side by side (a partnership of
# authorities, three executors with Redis). Two runs at once stays in: the live tests after it
# count its registered versions. `make test` leaves them out to stay within
# CI's 20 minutes on 2 cores; `make test-all` runs them (README, "Development").
HEAVY = (
    "e2e/test_partnership_runs.py",
    "e2e/test_executors_e2e.py",
)

# The longest test files, longest first (worker-seconds of a whole `make test`, measured; a
# file's first test pays its shared set-up). The rest follow: other whole runs, then the others.
# A file that copies a first run another makes (tests/support/first_runs.py) comes a few places
# after it, so that the other worker has usually finished making it when it starts:
# operations before signals, removals before landing; test_deliverables_e2e.py, which copies
# test_pipeline_e2e.py's and is short since, among the other whole runs after this list.
LONGEST_FIRST = (
    "live/test_operations_live.py",
    "e2e/test_removal_runs.py",
    "e2e/test_pipeline_e2e.py",
    "e2e/test_installed_wheel.py",
    "live/test_signals_live.py",
    "unit/ingest/test_withheld_everywhere.py",
    "assets/test_single_assets.py",
    "e2e/test_no_raw_identifiers_in_home.py",
    "unit/linkage/test_partnership_keyless.py",
    "e2e/test_small_area_publishes.py",
    "e2e/test_landing_runs.py",
    "e2e/test_retention_e2e.py",
    "unit/linkage/test_token_linkage.py",
)

SMALL_HOUSEHOLDS = 2000
# Small models keep the end-to-end test quick; the real defaults are measured in benchmarks/.
FAST_TRAINING = {"max_iter": 60, "max_leaf_nodes": 15, "min_samples_leaf": 20}
# For whole runs that test something other than the model (executors, landing, removals,
# retention, a partnership's routing): one quick candidate and no value-of-sharing refits, as
# the live tests' --train-config. Not the baseline alone: a 26-month world has no 12-month counts
# at its training date, so the baseline scores every household the same and the promotion gate
# refuses it (hearth/modelling/evaluation/gate.py).
QUICK_TRAINING = {**FAST_TRAINING, "candidates": ["logistic"], "value_of_sharing": False}


# Where the session's temporary folders go (every HEARTH_HOME, world and first run a test makes).
# A whole run commits Dagster's event log (SQLite, a transaction per event: thousands of
# fdatasyncs), MLflow's store and the warehouse to disk; on a disk those syncs were about half of
# a whole-run test's time. In memory (tmpfs) a sync costs nothing, and what a test checks is the
# same: a killed process leaves its files exactly as on disk (the page cache is shared); only a
# power cut differs, which no test makes. Used only where /dev/shm is a tmpfs with room to spare
# (a session holds about 2 GB at once: pyproject.toml removes each passed test's folder), never
# over a --basetemp or PYTEST_DEBUG_TEMPROOT the caller gave; HEARTH_TEST_TMP_ON_DISK=1 keeps them
# on disk.
MEMORY_TEMP_ROOT = Path("/dev/shm")
MEMORY_TEMP_ROOM = 8 * 2**30


def _memory_temp_root() -> Path | None:
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
        room = os.statvfs(MEMORY_TEMP_ROOT)
    except OSError:
        return None
    on_tmpfs = any(m.split()[1:3] == [str(MEMORY_TEMP_ROOT), "tmpfs"] for m in mounts)
    free = room.f_bavail * room.f_frsize
    ok = on_tmpfs and free >= MEMORY_TEMP_ROOM and os.access(MEMORY_TEMP_ROOT, os.W_OK)
    return MEMORY_TEMP_ROOT if ok else None


def pytest_configure(config: pytest.Config) -> None:
    # xdist's workers are given their folders by the controller, which makes them here
    if (
        config.option.basetemp is None
        and "PYTEST_DEBUG_TEMPROOT" not in os.environ
        and os.environ.get("HEARTH_TEST_TMP_ON_DISK") != "1"
        and (root := _memory_temp_root()) is not None
    ):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(root)


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
        where = Path(item.path).relative_to(tests)
        if where.parts[0] in WHOLE_RUN_FOLDERS or WHOLE_RUN_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
        named = f"{where.as_posix()}::{item.name}"
        if any(named == h or named.startswith(h + "::") for h in HEAVY):
            item.add_marker(pytest.mark.heavy)
    # Longest files first, so that under xdist (--dist loadfile, --no-loadscope-reorder: the
    # Makefile) the long files start at once and the many short ones fill in around them,
    # instead of one long file running on alone at the end. A stable sort by file: each file's
    # tests stay together, in their order.
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        where = Path(item.path).relative_to(tests).as_posix()
        if where in LONGEST_FIRST:
            return LONGEST_FIRST.index(where)
        return len(LONGEST_FIRST) + (item.path not in slow_files)

    items.sort(key=rank)
