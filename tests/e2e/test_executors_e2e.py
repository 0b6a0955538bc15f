"""One world, three executors: the in-process run, the multiprocess run and a run on a celery
worker fed by a real Redis (Debian's redis-server, started here on a free port) publish the same
ranked list byte for byte; on the multiprocess run, Dagster's own step events show that no two
steps that open the warehouse ran at once. A partnership's job on a celery worker runs two
authorities' steps at once (its step events again)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from hearth.cli.launch import run_pipeline
from hearth.operations.executors import WAREHOUSE_POOL
from tests.conftest import QUICK_TRAINING
from tests.support.environment import clear_hearth, without_hearth

HOUSEHOLDS = 1000  # small: three whole runs (the world of tests/e2e/test_landing_runs.py)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A Redis on 127.0.0.1 with nothing written to disk, stopped by its PID afterwards."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.2)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from hearth.synth import synthesise

    root = tmp_path_factory.mktemp("executors_world")
    synthesise(root / "landing", root / "_truth", households=HOUSEHOLDS, months=26, seed=23)
    return root / "landing"


def _run(world: Path, home: Path, executor: str, monkeypatch, **env: str):
    with monkeypatch.context() as mp:
        clear_hearth(mp, HEARTH_HOME=str(home), **env)
        lines: list[str] = []
        outcome = run_pipeline(
            world, train_config=QUICK_TRAINING, say=lines.append, executor=executor
        )
    assert outcome.success, (outcome.problems, lines[-20:])
    return outcome, (outcome.output_folder / "ranked_households.csv").read_bytes()


def _warehouse_steps_overlapping(home: Path, run_id: str) -> list[tuple[str, str]]:
    """Pairs of steps in pool `warehouse` whose start-to-end spans overlap, from the run's
    STEP_START / STEP_SUCCESS / STEP_FAILURE events in Dagster's instance."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        instance = dg.DagsterInstance.get()
        kinds = {
            dg.DagsterEventType.STEP_START,
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        }
        spans: dict[str, list[float]] = {}
        for rec in instance.all_logs(run_id, of_type=kinds):
            spans.setdefault(rec.step_key, []).append(rec.timestamp)
        plan_pools = {
            s.key: s.pool
            for s in instance.get_execution_plan_snapshot(
                instance.get_run_by_id(run_id).execution_plan_snapshot_id
            ).steps
        }
    finally:
        os.environ.pop("DAGSTER_HOME", None)
    pooled = sorted(k for k, v in spans.items() if plan_pools.get(k) == WAREHOUSE_POOL)
    assert len(pooled) >= 10
    out = []
    for i, a in enumerate(pooled):
        for b in pooled[i + 1 :]:
            if min(spans[a][-1], spans[b][-1]) > max(spans[a][0], spans[b][0]):
                out.append((a, b))
    return out


@contextmanager
def celery_worker(home: Path, env: dict, landing: Path, concurrency: int, name: str):
    """`hearth worker` for `home`'s instance, ready (dagster-celery has written its config beside
    the instance: two processes creating one fresh SQLite instance at once can both stamp its
    schema), stopped with the celery processes it started (its own session) however the block
    ends."""
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "hearth"),
            "worker",
            "--concurrency",
            str(concurrency),
            "--name",
            name,
            "--landing",
            str(landing),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the worker and the celery processes it starts, stopped together
    )
    try:
        ready = home / "dagster" / "dagster_celery" / "config"
        deadline = time.monotonic() + 300
        while not ready.is_dir() and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert ready.is_dir(), "the celery worker did not start"
        yield worker
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def test_in_process_multiprocess_and_celery_publish_the_same_list(
    world, tmp_path, redis_url, monkeypatch
):
    _, in_process = _run(world, tmp_path / "in_process", "in_process", monkeypatch)

    multi, multiprocess = _run(world, tmp_path / "multiprocess", "multiprocess", monkeypatch)
    assert multiprocess == in_process
    assert _warehouse_steps_overlapping(tmp_path / "multiprocess", multi.run_id) == []

    home = tmp_path / "celery"
    home.mkdir()
    env = without_hearth(HEARTH_HOME=str(home), HEARTH_CELERY_BROKER=redis_url)
    with celery_worker(home, env, world, concurrency=1, name="e2e"):
        _, celery = _run(world, home, "celery", monkeypatch, HEARTH_CELERY_BROKER=redis_url)
    assert celery == in_process


def test_partnership_authority_steps_overlap_on_celery(tmp_path, redis_url, monkeypatch):
    """The partnership's job (hearth/defs/operations/partnership.py) on a celery worker taking
    two steps at once: two authorities' steps overlap in time, by the run's own step events.
    Cheap on purpose: the authorities have no extracts, so each one's `hearth run` stops within
    seconds (recorded, the run goes on); whole partnership runs: test_partnership_runs.py."""
    from hearth.cli.partnership import run_authorities
    from tests.support.step_events import overlaps, step_spans

    home = tmp_path / "partnership"
    landing = home / "landing"
    (landing / "reference").mkdir(parents=True)
    (landing / "reference" / "areas.csv").write_text(
        "area_code,area_type,area_name\nE06000901,LA,Northmoor\nE06000902,LA,Southmoor\n"
    )
    env = without_hearth(HEARTH_HOME=str(home), HEARTH_CELERY_BROKER=redis_url)
    with (
        celery_worker(home, env, landing, concurrency=2, name="partnership"),
        monkeypatch.context() as mp,
    ):
        clear_hearth(mp, HEARTH_HOME=str(home), HEARTH_CELERY_BROKER=redis_url)
        # the first run warms the worker's two pool processes (each loads Hearth's
        # definitions on its first task, longer than these steps take); the second is read
        for _ in range(2):
            runs = run_authorities(
                ["E06000901", "E06000902"], landing, executor="celery", say=lambda _: None
            )
        run_id = json.loads((home / "partnership" / "run_summary.json").read_text())["run_id"]
    assert [r.authority for r in runs] == ["E06000901", "E06000902"]
    assert all(not r.prepared and any("does not exist" in w for w in r.why) for r in runs)
    spans = step_spans(home / "dagster", run_id)
    assert {"prepare_authority[E06000901]", "prepare_authority[E06000902]"} <= set(spans)
    assert overlaps(spans, "prepare_authority["), spans
