"""`hearth ui`, for real: both UIs answer only their own names (issue 22: the Dagster UI answered
any Host, so a page using DNS rebinding could read run configs, file names and row counts), and
the MLflow page turns off its usage-data banner and UI telemetry before MLflow reads them."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hearth.cli.ui_mlflow import SCRIPT
from hearth.settings import PROJECT_ROOT
from tests.support import access_probes as ap

pytestmark = pytest.mark.slow

CONFIGURED = "hearth.council.internal"
FOREIGN = "rebind.attacker.example"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, host: str, headers: dict | None = None) -> tuple[int, bytes]:
    """A request to 127.0.0.1:port whose Host header says `host` (as a rebound page's would)."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        con.putrequest("GET", path, skip_host=True)
        con.putheader("Host", host)
        for k, v in (headers or {}).items():
            con.putheader(k, v)
        con.endheaders()
        r = con.getresponse()
        return r.status, r.read()
    finally:
        con.close()


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui_hosts") / "home"
    dport, mport = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "MLFLOW_"))}
    for k in ("HEARTH_LANDING", "HEARTH_WAREHOUSE", "HEARTH_OUTPUTS", "HEARTH_ALERT_WEBHOOK"):
        env.pop(k, None)
    env.update(
        HEARTH_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="200", HEARTH_UI_HOSTS=CONFIGURED
    )
    cmd = [str(Path(sys.executable).parent / "hearth"), "ui"]
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
        assert "Press Ctrl-C" in "".join(lines), "".join(lines)
        yield home, dport, mport
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.communicate(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()


def test_the_dagster_ui_answers_only_its_own_names(ui):
    _, dport, _ = ui
    for host in (f"127.0.0.1:{dport}", f"localhost:{dport}", CONFIGURED):
        status, body = _get(dport, "/server_info", host)
        assert status == 200, (host, body[:200])
    for host in (f"{FOREIGN}:{dport}", f"127.0.0.1.{FOREIGN}", f"{CONFIGURED}.{FOREIGN}"):
        for path in ("/server_info", "/graphql?query=%7Bversion%7D", "/"):
            status, body = _get(dport, path, host)
            assert status == 403, (host, path, status)
            assert b"dagster" not in body.lower()
    # the GraphQL subscription socket too
    status, _ = _get(
        dport,
        "/graphql",
        FOREIGN,
        {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Protocol": "graphql-ws",
        },
    )
    assert status == 403


def test_the_mlflow_ui_answers_only_its_own_names_and_shows_no_banner(ui):
    home, _, mport = ui
    admin = ap.admin_headers(home)
    status, body = _get(mport, "/", FOREIGN, admin)
    assert status == 403 and SCRIPT.encode() not in body
    for host in (f"127.0.0.1:{mport}", f"localhost:{mport}", CONFIGURED):
        status, body = _get(mport, "/", host, admin)
        assert status == 200, (host, body[:200])
        # the page dismisses MLflow's usage-data banner and turns UI telemetry off first
        head = body.split(b"</head>")[0]
        assert SCRIPT.encode() in head and head.index(SCRIPT.encode()) < head.index(b"<script ")
    # the server's telemetry switch, which the UI reads: off
    status, body = _get(mport, "/ajax-api/3.0/mlflow/ui-telemetry", f"127.0.0.1:{mport}", admin)
    assert status == 200, body[:200]
    assert json.loads(body)["disable_ui_telemetry"] is True


def test_the_mlflow_home_page_renders_without_the_usage_banner(ui):
    """In a real browser: MLflow's home page, signed in, shows no "MLflow collects usage data"
    banner (a plain `mlflow server` shows it, whatever MLFLOW_DISABLE_TELEMETRY says)."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("/usr/bin/chromium is absent: `make test` installs it (.ci/ensure-chromium)")
    home, _, mport = ui
    password = (home / "mlflow-auth" / "admin-password").read_text().strip()
    cmd = [str(chromium), "--headless", "--no-sandbox", "--disable-gpu"]
    cmd += ["--disable-background-networking", "--disable-component-update", "--no-first-run"]
    cmd += ["--virtual-time-budget=20000", "--dump-dom"]
    url = f"http://hearth-admin:{password}@127.0.0.1:{mport}/"
    dom = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=180).stdout
    assert "Welcome to MLflow" in dom, dom[-2000:]  # the home page, where the banner lives
    assert "MLflow collects usage data" not in dom
