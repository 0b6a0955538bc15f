"""What someone who can reach the UIs, with no credentials, can do: probes used by the live
tests (tests/live/test_operations_live.py) against the real servers that `hearth ui` starts."""

from __future__ import annotations

import base64
import json
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

LAUNCH = (
    "mutation($p: ExecutionParams!) { %s(executionParams: $p) { __typename "
    "... on UnauthorizedError { message } ... on LaunchRunSuccess { run { runId } } "
    "... on PythonError { message } } }"
)
STOP_SENSOR = (
    "mutation($id: String!, $s: String!) { stopSensor(id: $id, jobSelectorId: $s) { __typename } }"
)


def post(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict | str]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def location(base: str) -> tuple[str, str]:
    _, body = post(
        f"{base}/graphql",
        {
            "query": "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
            "location { name } } } } }"
        },
    )
    (repo,) = body["data"]["repositoriesOrError"]["nodes"]
    return repo["location"]["name"], repo["name"]


def launch(base: str, mutation: str, run_config: dict) -> dict:
    """Launch hearth_full_run over GraphQL, as anyone reaching the port could."""
    loc, repo = location(base)
    selector = {"repositoryLocationName": loc, "repositoryName": repo}
    selector |= {
        "pipelineName" if mutation == "launchPipelineExecution" else "jobName": ("hearth_full_run")
    }
    status, body = post(
        f"{base}/graphql",
        {
            "query": LAUNCH % mutation,
            "variables": {"p": {"selector": selector, "runConfigData": run_config}},
        },
    )
    assert status == 200 and "errors" not in body, body
    return body["data"][mutation]


def outside_config(folder: Path) -> dict:
    """Run config that would write the full ranked list into a folder of the caller's choosing."""
    return {"resources": {"outputs": {"config": {"path": str(folder)}}}}


def daemon_healthy(base: str, timeout: float = 120) -> set[str]:
    """The daemons (sensor, scheduler, run queue) that report healthy within `timeout`."""
    query = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }"
    deadline, healthy = time.monotonic() + timeout, set()
    while time.monotonic() < deadline:
        _, body = post(f"{base}/graphql", {"query": query})
        statuses = body["data"]["instance"]["daemonHealth"]["allDaemonStatuses"]
        healthy = {s["daemonType"] for s in statuses if s["healthy"]}
        if {"SENSOR", "SCHEDULER", "QUEUED_RUN_COORDINATOR"} <= healthy:
            return healthy
        time.sleep(3)
    return healthy


def set_alias(base: str, version: str, headers: dict | None = None) -> tuple[int, object]:
    return post(
        f"{base}/api/2.0/mlflow/registered-models/alias",
        {"name": "household_crisis_risk", "alias": "champion", "version": version},
        headers,
    )


def get_alias(base: str, headers: dict | None = None) -> tuple[int, object]:
    url = f"{base}/api/2.0/mlflow/registered-models/alias?name=household_crisis_risk&alias=champion"
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def admin_headers(home: Path) -> dict:
    password = (home / "mlflow-auth" / "admin-password").read_text().strip()
    token = base64.b64encode(f"hearth-admin:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def loose_files(home: Path) -> list[str]:
    """Everything under HEARTH_HOME that its group or other users could read or change."""
    out = []
    for p in [home, *home.rglob("*")]:
        if not p.is_symlink() and p.stat().st_mode & 0o077:
            out.append(f"{p.relative_to(home)} {stat.S_IMODE(p.stat().st_mode):04o}")
    return out


def check_nobody_can_change_things(home, dport, mport, text, tmp_path, dagster_runs) -> None:
    """Issue 13: with no credentials, no run is launched (the webserver is read-only, while
    the daemon's sensor and schedule still work) and no alias is set; nothing is loose."""
    dagster, mlflow = f"http://127.0.0.1:{dport}", f"http://127.0.0.1:{mport}"
    runs = len(dagster_runs(home))
    for mutation in ("launchRun", "launchPipelineExecution"):
        got = launch(dagster, mutation, outside_config(tmp_path / "chosen"))
        assert got["__typename"] == "UnauthorizedError", got
    assert len(dagster_runs(home)) == runs and not (tmp_path / "chosen").exists()
    assert {"SENSOR", "SCHEDULER"} <= daemon_healthy(dagster)
    status, champion = get_alias(mlflow, admin_headers(home))
    assert status == 200, champion
    version = champion["model_version"]["version"]
    assert set_alias(mlflow, str(int(version) - 1))[0] == 401
    assert get_alias(mlflow)[0] == 401  # reading needs a sign-in too
    assert get_alias(mlflow, admin_headers(home))[1] == champion  # unchanged
    assert "read-only" in text and "hearth-admin" in text and "admin-password" in text
    assert (home / "mlflow-auth" / "admin-password").read_text().strip() not in text
    assert loose_files(home) == []
