"""Operations, quickly: the landing sensor (new month, unchanged files, changed file), the
monthly schedule and the stopped-run alert through Dagster's own test contexts; the run lock;
the shadow warehouse and the outputs swap after a kill. No pipeline run here (see
test_operations_live.py for the real thing)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from hearth.defs.operations.schedules import monthly_publish
from hearth.defs.operations.sensors import alert_on_stopped_run, landing_sensor
from hearth.defs.resources import LandingResource, OutputsResource
from hearth.operations.watch import load_cursor
from hearth.sources import SOURCES

PAST = time.time() - 3600  # files older than the sensor's settling time


@pytest.fixture(autouse=True)
def _home_in_tmp(tmp_path, monkeypatch):
    """The resources take only paths under HEARTH_HOME (or what HEARTH_LANDING/HEARTH_OUTPUTS
    name; hearth/defs/resources.py): these tests' landing and outputs are in their tmp folder."""
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path))


def land(landing: Path, source: str, month: str, body: str = "a,b\n1,2\n", age: float = PAST):
    ext = SOURCES[source].file_format
    path = landing / source / month / f"{source}_{month}.{ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    os.utime(path, (age, age))
    return path


def evaluate(landing: Path, cursor: str | None):
    ctx = dg.build_sensor_context(
        cursor=cursor, resources={"landing": LandingResource(path=str(landing))}
    )
    return landing_sensor(ctx)


def test_sensor_requests_one_run_per_new_month_and_never_twice(tmp_path):
    landing = tmp_path / "landing"
    for s in SOURCES:
        land(landing, s, "2025-11")
    first = evaluate(landing, None)
    assert len(first.run_requests) == 1
    req = first.run_requests[0]
    assert req.partition_key == "2025-11" and req.job_name == "hearth_full_run"
    assert {k.to_user_string() for k in req.asset_selection} == {f"{s}_extract" for s in SOURCES}
    assert req.asset_check_keys is None  # every check on those assets comes with them
    assert req.tags["hearth/trigger"] == "landing_sensor"
    # the sensor's page shows one line, not the files' JSON: the state is kept under HEARTH_HOME
    assert first.cursor.startswith(f"{len(SOURCES)} files watched; state ")
    assert len(first.cursor) < 100 and "{" not in first.cursor
    cursor = load_cursor(first.cursor)
    assert set(cursor) == {f"{s}/2025-11/{s}_2025-11.{SOURCES[s].file_format}" for s in SOURCES}
    assert all(len(v["sha256"]) == 64 for v in cursor.values())

    # unchanged files: no run, cursor kept
    again = evaluate(landing, first.cursor)
    assert not again.run_requests and "No new or changed" in again.skip_reason.skip_message
    # the same bytes copied in again (new modification time): still no run
    land(landing, "health", "2025-11")
    os.utime(landing / "health/2025-11/health_2025-11.parquet", (PAST + 60, PAST + 60))
    touched = evaluate(landing, again.cursor)
    assert not touched.run_requests

    # a new month: one run for it alone, only the sources that sent it
    land(landing, "police", "2025-12")
    land(landing, "fire", "2025-12")
    new = evaluate(landing, touched.cursor)
    assert [r.partition_key for r in new.run_requests] == ["2025-12"]
    assert {k.to_user_string() for k in new.run_requests[0].asset_selection} == {
        "police_extract",
        "fire_extract",
    }

    # a corrected file for an old month: a run for that month and that source
    land(landing, "health", "2025-11", body="a,b\n1,3\n")
    changed = evaluate(landing, new.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2025-11"]
    (req,) = changed.run_requests
    assert [k.to_user_string() for k in req.asset_selection] == ["health_extract"]
    assert req.run_key != first.run_requests[0].run_key
    assert not evaluate(landing, changed.cursor).run_requests


def test_sensor_waits_for_files_still_arriving_and_batches_a_first_load(tmp_path):
    landing = tmp_path / "landing"
    land(landing, "health", "2025-12", age=time.time())  # being copied in right now
    waiting = evaluate(landing, None)
    assert not waiting.run_requests and "1 still arriving" in waiting.skip_reason.skip_message
    assert load_cursor(waiting.cursor) == {}
    # a first load of many months is one run over the range, not one each
    for m in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05"):
        for s in SOURCES:
            land(landing, s, m)
    batch = evaluate(landing, waiting.cursor)
    (req,) = batch.run_requests
    assert req.partition_key is None
    assert req.tags["dagster/asset_partition_range_start"] == "2025-01"
    assert req.tags["dagster/asset_partition_range_end"] == "2025-05"
    assert req.run_config["resources"]["run_settings"]["config"]["allow_missing_sources"]
    # the sensor's runs never accept removals (issue 23): only an officer does
    assert "accept_removals" not in req.run_config["resources"]["run_settings"]["config"]


def schedule(landing: Path, outputs: Path, instance=None):
    # As a context manager, so the context's resources and instance scope are closed again:
    # left open they leak a dead instance into later definition loads in the same process.
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime(2026, 1, 7, 6, 0),
        resources={
            "landing": LandingResource(path=str(landing)),
            "outputs": OutputsResource(path=str(outputs)),
        },
    ) as ctx:
        return monthly_publish(ctx)


def test_schedule_waits_for_every_source_then_publishes_once(tmp_path):
    landing, outputs = tmp_path / "landing", tmp_path / "outputs"
    for s in SOURCES:
        land(landing, s, "2025-11")
        if s != "police":
            land(landing, s, "2025-12")
    with dg.instance_for_test() as instance:
        skip = schedule(landing, outputs, instance)
    assert isinstance(skip, dg.SkipReason)
    assert "Waiting for the 2025-12 extract from police" in skip.skip_message

    land(landing, "police", "2025-12")
    with dg.instance_for_test() as instance:
        req = schedule(landing, outputs, instance)
        assert isinstance(req, dg.RunRequest) and req.job_name == "hearth_full_run"
        assert not req.asset_selection  # the whole graph: ingest, train, promote, publish
        assert req.tags["dagster/asset_partition_range_start"] == "2025-11"
        assert req.tags["dagster/asset_partition_range_end"] == "2025-12"
        assert req.tags["hearth/trigger"] == "monthly_publish"
        assert req.run_key.startswith("publish:2026-01:")

        # once a run has been made for these files, the schedule does not make another
        instance.add_run(
            dg.DagsterRun(
                job_name="hearth_full_run",
                run_id="f" * 36,
                tags={"hearth/landing_fingerprint": req.tags["hearth/landing_fingerprint"]},
            )
        )
        assert "Already ran for these files" in schedule(landing, outputs, instance).skip_message
        # outputs already published from these files (e.g. by `hearth run`): nothing to do
        (outputs / "2026-01").mkdir(parents=True)
        (outputs / "2026-01" / "run_summary.json").write_text("{}")
        assert "already published" in schedule(landing, outputs, instance).skip_message


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received = []
    monkeypatch.setenv("HEARTH_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    yield _Hook.received
    server.shutdown()
    server.server_close()


def _stopping_job():
    """A two-asset job shaped like Hearth's: an extract whose blocking check fails."""

    @dg.asset(
        name="health_extract",
        check_specs=[
            dg.AssetCheckSpec("no_raw_identifiers", asset="health_extract", blocking=True)
        ],
    )
    def health_extract():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(
            check_name="no_raw_identifiers",
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description="health: file health/2025-12/health_2025-12.parquet, column "
            "'person_pid' holds what looks like an NHS number in 12 rows; the extract was not "
            "loaded.",
        )

    @dg.asset(deps=[health_extract])
    def linked_events():
        return None

    return dg.Definitions(
        assets=[health_extract, linked_events],
        jobs=[dg.define_asset_job("hearth_full_run", selection="*")],
    ).resolve_job_def("hearth_full_run")


def test_failure_sensor_writes_a_plain_alert_and_posts_it(hearth_home, webhook):
    with dg.DagsterInstance.ephemeral() as instance:
        result = _stopping_job().execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={"dagster/sensor_name": "landing_sensor", "dagster/partition": "2025-12"},
        )
        assert not result.success
        ctx = dg.build_run_status_sensor_context(
            sensor_name="alert_on_stopped_run",
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        alert_on_stopped_run(ctx)
    text = (hearth_home / "alerts.log").read_text()
    assert f"run {result.run_id[:8]} of hearth_full_run" in text
    assert "started by the landing sensor, extract months 2025-12" in text
    assert "The check 'no_raw_identifiers' on health_extract stopped the run" in text
    assert "column 'person_pid'" in text and "Nothing was published" in text
    assert "Traceback" not in text
    (posted,) = webhook
    assert posted["checks"] == ["health_extract.no_raw_identifiers"]
    assert posted["run_id"] == result.run_id and posted["text"].strip() == text.strip()


def test_alert_is_logged_when_the_webhook_is_down(hearth_home, monkeypatch):
    from hearth.operations.alerts import Stop, alert_stopped_run

    monkeypatch.setenv("HEARTH_ALERT_WEBHOOK", "http://127.0.0.1:9/secret-token")
    alert_stopped_run("abcdef123456", "hearth_full_run", Stop(steps=[("x", "boom")]), "hearth run")
    text = (hearth_home / "alerts.log").read_text()
    assert "The step 'x' failed: boom" in text and "webhook did not accept it" in text
    assert "secret-token" not in text


def test_alert_for_a_killed_run_says_so():
    from hearth.operations.alerts import Stop, compose
    from hearth.operations.recovery import mark_run_failed

    with dg.instance_for_test() as instance:
        run = instance.add_run(dg.DagsterRun(job_name="hearth_full_run", run_id="k" * 36))
        assert mark_run_failed(instance, run.run_id)
        assert instance.get_run_by_id(run.run_id).is_finished
        event = instance.all_logs(run.run_id)[-1].dagster_event
        assert not mark_run_failed(instance, run.run_id)  # only once
    text = compose(run.run_id, "hearth_full_run", Stop(), "landing_sensor", reason=event.message)
    assert "The run's process was killed" in text and "as they were before it" in text


HOLD = """
import sys, time
from pathlib import Path
from hearth.operations.runlock import run_lock
with run_lock(Path(sys.argv[1]), "holder"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_run_lock_makes_a_second_run_wait_not_fail(tmp_path):
    from hearth.operations.runlock import run_lock

    def hold(seconds: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(tmp_path), seconds], stdout=subprocess.PIPE, text=True
        )
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    procs: list[subprocess.Popen] = []
    try:
        hold("2")
        said: list[str] = []
        start = time.monotonic()
        with run_lock(tmp_path, "second", say=said.append):
            waited = time.monotonic() - start
            with run_lock(tmp_path, "re-entered"):  # the same process again: no wait
                pass
        assert waited > 1.0
        assert said[0].startswith("Waiting for the run already in progress to finish: holder")
        killed = hold("60")
        with pytest.raises(TimeoutError), run_lock(tmp_path, "impatient", timeout=0.5):
            pass
        killed.kill()  # a holder killed with -9 leaves no stuck lock
        killed.wait()
        with run_lock(tmp_path, "after", timeout=5):
            pass
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _table(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT * FROM t ORDER BY 1").fetchall()
    finally:
        con.close()


def test_shadow_warehouse_is_swapped_in_or_discarded(tmp_path):
    from hearth.operations.recovery import MARKER, guarded_run, stale_shadows

    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    # a run that ends: its writes replace the warehouse
    with guarded_run(wh, "run-one-000000") as shadow:
        assert shadow != wh and (tmp_path / MARKER).exists()
        con = duckdb.connect(str(shadow))
        con.execute("INSERT INTO t VALUES (2)")
        con.close()
        assert _table(wh) == [(1,)]  # readers see the old state until the end
    assert _table(wh) == [(1,), (2,)] and not stale_shadows(wh)
    # a run interrupted by an exception: nothing changes
    with pytest.raises(KeyboardInterrupt), guarded_run(wh, "run-two-000000") as shadow:
        con = duckdb.connect(str(shadow))
        con.execute("DELETE FROM t")
        con.close()
        raise KeyboardInterrupt
    assert _table(wh) == [(1,), (2,)] and not stale_shadows(wh)


KILLED = """
import os, sys, duckdb
from pathlib import Path
from hearth.operations.recovery import guarded_run
with guarded_run(Path(sys.argv[1]), "run-killed-0000", what="the killed run") as shadow:
    con = duckdb.connect(str(shadow))
    con.execute("DROP TABLE t")
    con.execute("CREATE TABLE half AS SELECT 1")
    os.kill(os.getpid(), 9)
"""


def test_a_run_killed_mid_way_leaves_the_warehouse_and_the_next_one_recovers(tmp_path):
    from hearth.operations.recovery import guarded_run, stale_shadows

    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    before = wh.read_bytes()
    proc = subprocess.run([sys.executable, "-c", KILLED, str(wh)], capture_output=True)
    assert proc.returncode == -9
    assert wh.read_bytes() == before and stale_shadows(wh)
    told: list[str] = []
    interrupted: list[str] = []
    with guarded_run(
        wh, "run-next-00000", say=told.append, interrupted=lambda *a: interrupted.append(a)
    ):
        pass
    assert interrupted == [("run-killed-0000", "rolled back")]
    assert "The previous run (the killed run" in told[0] and "discarded" in told[0]
    assert not stale_shadows(wh) and _table(wh) == [(1,)]


def test_outputs_swap_interrupted_between_renames_is_put_back(tmp_path):
    from hearth.publish.outputs import clear_stale_temporaries, publish_atomically

    outputs = tmp_path / "outputs"
    publish_atomically(outputs, "2026-01", lambda f: (f / "a.csv").write_text("good"))
    # what a kill between `final -> .old` and `.tmp -> final` leaves
    (outputs / "2026-01").rename(outputs / ".old-2026-01-0123abcd")
    (outputs / ".tmp-2026-01-89abcdef").mkdir()
    (outputs / ".tmp-2026-01-89abcdef" / "a.csv").write_text("half")
    assert clear_stale_temporaries(outputs) == ["2026-01"]
    assert (outputs / "2026-01" / "a.csv").read_text() == "good"
    assert sorted(p.name for p in outputs.iterdir()) == ["2026-01", "latest"]
    assert (outputs / "latest" / "a.csv").read_text() == "good"


@pytest.mark.parametrize("name", ["dagster.yaml", "deploy/dagster.postgres.yaml"])
def test_instance_settings_are_valid_for_dagster(name, tmp_path, monkeypatch):
    import shutil

    from dagster._core.instance.config import dagster_instance_config

    from hearth.settings import PROJECT_ROOT

    shutil.copyfile(PROJECT_ROOT / name, tmp_path / "dagster.yaml")
    for var in ("DAGSTER_HOME", "DAGSTER_PG_HOST", "DAGSTER_PG_DB", "DAGSTER_PG_USER"):
        monkeypatch.setenv(var, str(tmp_path))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "not-used")
    cfg, _ = dagster_instance_config(str(tmp_path))
    assert cfg["telemetry"] == {"enabled": False}
    assert cfg["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert cfg["concurrency"]["pools"] == {"granularity": "op", "default_limit": 1}


def test_dagster_home_gets_the_shipped_settings_but_keeps_an_installers_own(
    hearth_home, monkeypatch
):
    from hearth.cli.launch import ensure_dagster_home
    from hearth.settings import PROJECT_ROOT

    monkeypatch.setenv("DAGSTER_HOME", str(hearth_home / "dagster"))  # undone after the test

    cfg = ensure_dagster_home() / "dagster.yaml"
    assert cfg.read_bytes() == (PROJECT_ROOT / "dagster.yaml").read_bytes()
    cfg.write_text("# hearth-managed: an older copy\ntelemetry:\n  enabled: false\n")
    ensure_dagster_home()
    assert cfg.read_bytes() == (PROJECT_ROOT / "dagster.yaml").read_bytes()
    own = (PROJECT_ROOT / "deploy" / "dagster.postgres.yaml").read_text()
    cfg.write_text(own)
    ensure_dagster_home()
    assert cfg.read_text() == own
