"""`hearth ui --allow-launch`, for real: the webserver launches runs again, and a run whose
config points a resource outside HEARTH_HOME is refused by the run itself before any step,
so nothing is written where the caller chose (issue 13: a run launched over GraphQL wrote the
full ranked list into a folder of an unprivileged user's choosing)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hearth.settings import PROJECT_ROOT
from tests.support import access_probes as ap
from tests.support.environment import without_hearth

pytestmark = pytest.mark.slow


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_status(base: str, run_id: str) -> tuple[str, str]:
    query = (
        "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } "
        "logsForRun(runId: $id, limit: 1000) { ... on EventConnection { events { "
        "__typename ... on MessageEvent { message } ... on ErrorEvent { error { message "
        "cause { message } } } } } } }"
    )
    _, body = ap.post(f"{base}/graphql", {"query": query, "variables": {"id": run_id}})
    data = body["data"]
    events = data["logsForRun"].get("events") or []
    texts = []
    for e in events:
        texts.append(e.get("message") or "")
        err = e.get("error") or {}
        while err:
            texts.append(err.get("message") or "")
            err = err.get("cause") or {}
    return data["runOrError"]["status"], "\n".join(texts)


def test_allow_launch_launches_but_run_config_outside_home_is_refused(tmp_path):
    home, chosen = tmp_path / "home", tmp_path / "chosen_by_someone"
    dport, mport = _free_port(), _free_port()
    env = without_hearth(HEARTH_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="200")
    cmd = [str(Path(sys.executable).parent / "hearth"), "ui", "--allow-launch"]
    cmd += ["--dagster-port", str(dport), "--mlflow-port", str(mport)]
    proc = subprocess.Popen(
        cmd,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
            assert time.monotonic() < deadline, "".join(lines)
        assert "LAUNCHING ALLOWED" in "".join(lines), "".join(lines)
        base = f"http://127.0.0.1:{dport}"
        got = ap.launch(base, "launchRun", ap.outside_config(chosen))
        assert got["__typename"] == "LaunchRunSuccess", got
        run_id = got["run"]["runId"]
        deadline, status, text = time.monotonic() + 300, "", ""
        while time.monotonic() < deadline:
            status, text = _run_status(base, run_id)
            if status in ("FAILURE", "SUCCESS", "CANCELED"):
                break
            time.sleep(3)
        assert status == "FAILURE", (status, text[-2000:])
        assert f"points the outputs resource at {chosen}, outside HEARTH_HOME" in text
        assert not chosen.exists()
        assert not (home / "outputs").exists() or not any((home / "outputs").iterdir())
        assert ap.loose_files(home) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.communicate(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
