"""Operations for real, on one small world and one HEARTH_HOME (tests in file order):

1. a `hearth run` killed with -9 mid-way leaves the warehouse and the published outputs exactly
   as they were;
2. two `hearth run`s started at once both finish, one after the other, with no DuckDB lock
   error - and the first of them puts right what the killed run left;
3. the real Dagster webserver on a loopback port serves the asset graph and the last run's check
   results over GraphQL;
4. the real MLflow server on a loopback port names the champion over its REST API;
5. `hearth ui` starts both, prints their addresses and stops both on Ctrl-C.

Servers are polled with bounded timeouts and always stopped (their whole process group)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pytest

from hearth.settings import PROJECT_ROOT
from tests.support.environment import without_hearth
from tests.support.first_runs import LIVE_HOUSEHOLDS, copy_of, live_first_run

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HOUSEHOLDS = LIVE_HOUSEHOLDS


def env_for(home: Path) -> dict:
    return without_hearth(HEARTH_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="200")


def hearth(home: Path, *args: str, **popen) -> subprocess.Popen:
    """`.venv/bin/hearth <args>` in its own process group, output captured."""
    return subprocess.Popen(
        [str(BIN / "hearth"), *args],
        cwd=PROJECT_ROOT,
        env=env_for(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **popen,
    )


def finish(proc: subprocess.Popen, timeout: float = 400) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"the run did not finish in {timeout} s:\n{out[-3000:]}")
    return out


# Session-scoped: under xdist other modules' tests can run between these in the same worker,
# which would tear down and rebuild module-scoped fixtures (and with them the story).
@pytest.fixture(scope="session")
def world(tmp_path_factory) -> dict:
    """800 households and 26 months; a private copy of the landing tree without its newest
    month, which is kept aside (tests/support/first_runs.py, shared with
    test_signals_live.py)."""
    made = live_first_run(tmp_path_factory)
    landing = copy_of(made / "landing", tmp_path_factory.mktemp("ops_world") / "landing")
    return {
        "made": made,
        "all": made / "all",  # only read
        "landing": landing,
        "newest": (made / "newest").read_text(),
        "run": ["run", "--landing", str(landing), "--train-config", str(made / "training.yaml")],
    }


@pytest.fixture(scope="session")
def home(world, tmp_path_factory) -> Path:
    """A HEARTH_HOME with one published run (outputs for the month after the second newest),
    made by `hearth run` on the landing without its newest month: a private copy of the one
    first run test_signals_live.py starts from as well."""
    return copy_of(world["made"] / "home", tmp_path_factory.mktemp("ops_home") / "home")


def outputs_state(outputs: Path) -> dict[str, str]:
    state = {}
    for p in sorted(outputs.rglob("*")):
        rel = str(p.relative_to(outputs))
        if p.is_symlink():
            state[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            state[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return state


def tables(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        # the relational API: a table's name is never spliced into SQL
        return {f"{s}.{t}": con.table(f"{s}.{t}").count("*").fetchall()[0][0] for s, t in names}
    finally:
        con.close()


def dagster_runs(home: Path):
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as inst:
        return list(reversed(inst.get_run_records()))  # oldest first


def succeeded(home: Path) -> list:
    return [r for r in dagster_runs(home) if r.dagster_run.status.value == "SUCCESS"]


def test_killed_run_leaves_warehouse_and_outputs_as_they_were(world, home, tmp_path):
    warehouse, outputs = home / "warehouse.duckdb", home / "outputs"
    wh_bytes = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    wh_tables = tables(warehouse)
    published = outputs_state(outputs)
    assert wh_tables["main.raw_health"] > 0 and any(
        k.endswith("run_summary.json") for k in published
    )
    # the agencies send the next month; a run starts and is killed once it has loaded it
    for src in (s for s in world["all"].iterdir() if (s / world["newest"]).is_dir()):
        shutil.copytree(src / world["newest"], world["landing"] / src.name / world["newest"])
    proc = hearth(home, *world["run"])
    seen, deadline = [], time.monotonic() + 300
    try:
        for line in proc.stdout:
            seen.append(line)
            if "running linked events" in line or "running feature sets" in line:
                break
            assert time.monotonic() < deadline, "".join(seen)
        else:
            pytest.fail("the run ended before it could be killed:\n" + "".join(seen))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert "done    health extract" in "".join(seen)

    # the killed run had written the new month - into its own copy of the warehouse
    (shadow,) = [p for p in home.glob(".warehouse.duckdb.run-*") if p.suffix != ".wal"]
    probe = tmp_path / "probe.duckdb"
    shutil.copyfile(shadow, probe)
    if Path(f"{shadow}.wal").exists():
        shutil.copyfile(f"{shadow}.wal", f"{probe}.wal")
    con = duckdb.connect(str(probe))
    new_rows = con.execute(
        "SELECT count(*) FROM raw_health WHERE _extract_month = ?", [world["newest"]]
    ).fetchone()[0]
    con.close()
    assert new_rows > 0
    # ... and the warehouse and the published outputs are exactly as they were
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == wh_bytes
    assert tables(warehouse) == wh_tables
    assert outputs_state(outputs) == published
    assert dagster_runs(home)[-1].dagster_run.status.value == "STARTED"


def test_two_runs_at_once_both_finish_one_after_the_other(world, home):
    started = time.time()
    procs = [hearth(home, *world["run"]) for _ in range(2)]
    outs = [finish(p, timeout=600) for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-3000:]
        assert "Published" in out
        assert "Conflicting lock" not in out and "Could not set lock" not in out
    waited = [o for o in outs if "Waiting for the run already in progress to finish" in o]
    assert len(waited) == 1, "one run should have waited for the other"
    # the first to start put right what the killed run left, and only it
    recovered = [o for o in outs if "did not finish; its partial work was discarded" in o]
    notes = [ln for o in outs for ln in o.splitlines() if "note:" in ln]
    told = "\n---\n".join(o[-2500:] for o in outs)
    assert len(recovered) == 1 and recovered[0] not in waited, f"{notes}\n{told}"
    assert not list(home.glob(".warehouse.duckdb.run-*"))
    # the new month is in and published; latest points at it
    from hearth.months import add_months

    as_of = add_months(world["newest"], 1)
    summary = json.loads((home / "outputs" / as_of / "run_summary.json").read_text())
    assert summary["households_scored"] == HOUSEHOLDS
    assert (home / "outputs" / "latest").resolve() == (home / "outputs" / as_of).resolve()
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    months = con.execute("SELECT max(_extract_month) FROM raw_health").fetchone()[0]
    con.close()
    assert months == world["newest"]
    # in Dagster: the killed run is marked failed; the two runs did not overlap
    records = dagster_runs(home)
    killed, first, second = records[-3:]
    assert killed.dagster_run.status.value == "FAILURE"
    assert first.create_timestamp.timestamp() >= started - 1
    assert first.dagster_run.status.value == second.dagster_run.status.value == "SUCCESS"
    assert first.end_time <= second.start_time


@contextmanager
def serving(cmd: list[str], env: dict, ready_url: str, log: Path, timeout: float = 180):
    """Start a server in its own process group, wait (bounded) until `ready_url` answers, and
    always stop the whole group afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, f"server exited:\n{log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(ready_url, timeout=3) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, f"no answer in {timeout} s:\n{log.read_text()}"
            time.sleep(1)
        yield proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen, grace: float = 20) -> None:
    with suppress(ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        body = json.loads(r.read())
    assert "errors" not in body, body
    return body["data"]


def test_dagster_webserver_serves_the_asset_graph_and_the_last_runs_checks(home, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = env_for(home) | {"DAGSTER_HOME": str(home / "dagster")}
    cmd = [str(BIN / "dagster-webserver"), "-m", "hearth.definitions"]
    cmd += ["-h", "127.0.0.1", "-p", str(port)]
    with serving(cmd, env, f"{base}/server_info", tmp_path / "webserver.log"):
        nodes = graphql(
            base, "{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }"
        )
        graph = {
            n["assetKey"]["path"][0]: {d["path"][0] for d in n["dependencyKeys"]}
            for n in nodes["assetNodes"]
        }
        assert {f"{s}_extract" for s in ("health", "police", "fire")} <= graph["linked_events"]
        assert graph["champion_model"] == {"household_features", "crisis_labels"}
        assert "household_scores" in graph["published_outputs"]

        runs = graphql(
            base,
            "{ runsOrError(limit: 1, filter: {statuses: [SUCCESS]}) "
            "{ ... on Runs { results { runId status } } } }",
        )
        (last,) = runs["runsOrError"]["results"]
        assert last["runId"] == succeeded(home)[-1].dagster_run.run_id
        logs = graphql(
            base,
            "query($id: ID!) { logsForRun(runId: $id, limit: 10000) { ... on EventConnection { "
            "events { __typename ... on AssetCheckEvaluationEvent { evaluation { checkName "
            "success severity assetKey { path } description } } } } } }",
            {"id": last["runId"]},
        )
        checks = {
            (e["evaluation"]["assetKey"]["path"][0], e["evaluation"]["checkName"]): e["evaluation"]
            for e in logs["logsForRun"]["events"]
            if e["__typename"] == "AssetCheckEvaluationEvent"
        }
        for source in ("addresses", "people", "social_care", "health", "fire", "police"):
            for name in ("no_raw_identifiers", "schema_matches_contract", "rows_accounted"):
                ev = checks[(f"{source}_extract", name)]
                assert ev["success"] and ev["severity"] == "ERROR", (source, name, ev)
        assert ("linked_events", "linkage_rate_reasonable") in checks


def test_mlflow_server_names_the_champion(home, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = env_for(home) | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    cmd = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with serving(cmd, env, f"{base}/health", tmp_path / "mlflow.log"):
        url = (
            f"{base}/api/2.0/mlflow/registered-models/alias"
            "?name=household_crisis_risk&alias=champion"
        )
        with urllib.request.urlopen(url, timeout=30) as r:
            champion = json.loads(r.read())["model_version"]
        search = f"{base}/api/2.0/mlflow/model-versions/search?filter=" + urllib.parse.quote(
            "name='household_crisis_risk'"
        )
        with urllib.request.urlopen(search, timeout=30) as r:
            versions = json.loads(r.read())["model_versions"]
    summary = json.loads((home / "outputs" / "latest" / "run_summary.json").read_text())
    assert champion["name"] == "household_crisis_risk"
    assert "champion" in champion["aliases"]
    # the champion is the version that scored the published list
    assert champion["version"] == summary["model"]["version"]
    # one version per completed run but the last: the second of the two runs at once trained
    # on the very same data, so it registered no new version (hearth/modelling/registry/run_log.py:
    # same as vN)
    assert len(versions) == len(succeeded(home)) - 1


def test_hearth_ui_starts_both_and_ctrl_c_stops_both(home, tmp_path):
    dport, mport = free_port(), free_port()
    proc = hearth(home, "ui", "--dagster-port", str(dport), "--mlflow-port", str(mport))
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
            assert time.monotonic() < deadline, "".join(lines)
        text = "".join(lines)
        assert f"Dagster UI  http://127.0.0.1:{dport}" in text, text
        assert f"MLflow UI   http://127.0.0.1:{mport}/#/experiments/" in text, text
        assert "workflowType=machine_learning" in text, text  # the model-training view
        with urllib.request.urlopen(f"http://127.0.0.1:{dport}/server_info", timeout=10) as r:
            assert r.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{mport}/health", timeout=10) as r:
            assert r.status == 200
        from tests.support.access_probes import check_nobody_can_change_things

        check_nobody_can_change_things(home, dport, mport, text, tmp_path, dagster_runs)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        rest, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            stop_group(proc)
    assert proc.returncode == 0 and "Stopped." in rest
    for port in (dport, mport):  # nothing listens any more
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(2)
            s.connect(("127.0.0.1", port))
