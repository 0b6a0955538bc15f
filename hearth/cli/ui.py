"""`hearth ui`: the Dagster UI (runs, asset checks, the landing sensor and the monthly schedule)
and the MLflow UI (model versions, metrics, the champion), on this machine only.

Both listen on 127.0.0.1, and neither lets whoever reaches it change things unasked:

- the Dagster webserver runs read-only (`dagster-webserver --read-only`: no launching,
  re-executing, terminating or wiping runs, no switching the sensor or schedule); Dagster's
  daemon runs beside it (`dagster-daemon run`), so the landing sensor and the monthly schedule
  still start runs. `--allow-launch` starts the webserver able to launch runs; run config can
  then still not point a run's resources outside HEARTH_HOME (pipelines/resources.py);
- the MLflow server runs MLflow's basic-auth app: every request needs a user name and password
  (hearth/cli/ui_auth.py; the admin's password is in a file only its owner can read), as the
  MLflow app `hearth` (hearth/cli/ui_mlflow.py), whose page shows no usage-data banner.
- both answer only requests addressed to their own names (127.0.0.1, localhost and those in
  HEARTH_UI_HOSTS), so a web page cannot read them through DNS rebinding: MLflow's
  `--allowed-hosts`, and for Dagster a Host allowlist in front of its app (hearth/cli/ui_hosts.py).

Each server runs in its own process group, so Ctrl-C (or SIGTERM) stops them all and
everything they started; their output goes to HEARTH_HOME/logs/."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from hearth import settings
from hearth.cli.console import console, fail
from hearth.cli.ui_hosts import allowed_names, mlflow_allowed_hosts

HOST = "127.0.0.1"


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


def free_port(preferred: int | None = None) -> int:
    """`preferred` if nothing is listening there, else any free loopback port."""
    if preferred and port_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def executable(name: str) -> str:
    """A console script from this environment (the venv Hearth runs in), else from PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not installed in this environment.")
    return found


def prepare_instance(dagster_home: Path) -> None:
    """Create the Dagster instance's storage once, here, before the servers start: on a fresh
    home the webserver, its code server and the daemon would each create the SQLite schedule
    storage at the same moment, and Alembic's version table can end with two heads, after
    which the code location does not load."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.get_run_records(limit=1)
        instance.all_instigator_state()


def write_workspace(dagster_home: Path) -> Path:
    """The workspace both servers load: Hearth's definitions under the code location name the
    project declares ([tool.dg.project] code_location_name), so the UI and the daemon keep one
    location name (`dagster-webserver -m` has no option for it: its `-l` is a path prefix)."""
    import yaml

    from hearth.atomic import write_text_atomically

    path = dagster_home / "workspace.yaml"
    module = {"module_name": settings.DEFINITIONS_MODULE, "location_name": settings.CODE_LOCATION}
    write_text_atomically(path, yaml.safe_dump({"load_from": [{"python_module": module}]}))
    return path


@dataclass
class Server:
    name: str
    url: str
    ready_path: str | None  # None: a process with no address (Dagster's daemon)
    proc: subprocess.Popen
    log: Path

    def answers(self) -> bool:
        if self.ready_path is None:
            return self.proc.poll() is None
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False


def start(
    name: str, cmd: list[str], url: str, ready_path: str | None, log: Path, env: dict
) -> Server:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=settings.PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we stop it, not the terminal
        )
    return Server(name, url, ready_path, proc, log)


def wait_ready(servers: list[Server], timeout: float) -> Server | None:
    """Wait until every server answers; return the first that died or never answered."""
    deadline = time.monotonic() + timeout
    pending = list(servers)
    while pending:
        for s in list(pending):
            if s.proc.poll() is not None:
                return s
            if s.answers():
                pending.remove(s)
        if pending and time.monotonic() > deadline:
            return pending[0]
        if pending:
            time.sleep(0.5)
    return None


def stop(servers: list[Server], grace: float = 20.0) -> None:
    """SIGTERM each server's process group, wait, then SIGKILL whatever is left."""
    for s in servers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(s.proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for s in servers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            s.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):  # whatever it started and left behind
            os.killpg(s.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            s.proc.wait(timeout=5)


def _echo(text: str) -> None:
    """A line as it is: addresses and paths are text, not markup, and lines are not cut."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _terminate(signum, frame):
    raise KeyboardInterrupt


def ui_command(
    dagster_port: Annotated[
        int | None, typer.Option(help="Port for the Dagster UI (default 3000, or a free one).")
    ] = None,
    mlflow_port: Annotated[
        int | None, typer.Option(help="Port for the MLflow UI (default 5000, or a free one).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for both to answer.")] = 180,
    allow_launch: Annotated[
        bool,
        typer.Option(
            "--allow-launch",
            help="Let the Dagster UI launch runs and switch automations (default: read-only; "
            "anyone who can reach its port could then start a run).",
        ),
    ] = False,
) -> None:
    """Start the Dagster UI (read-only unless --allow-launch) and the MLflow UI (sign-in
    required) on 127.0.0.1 and print their addresses; Ctrl-C stops both."""
    from hearth.cli.ui_auth import ADMIN, ensure_mlflow_auth
    from pipelines.launch import ensure_dagster_home

    home = settings.hearth_home()
    dagster_home = ensure_dagster_home()
    env = {**os.environ, "HEARTH_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    logs = home / "logs"
    servers: list[Server] = []
    # Ctrl-C (SIGINT, even where a parent shell ignores it) and SIGTERM both stop the servers.
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        dport = dagster_port or free_port(3000)
        url = f"http://{HOST}:{dport}"
        prepare_instance(dagster_home)
        code = ["-w", str(write_workspace(dagster_home))]
        # dagster-webserver's own command behind a Host allowlist (hearth/cli/ui_hosts.py)
        cmd = [sys.executable, "-m", "hearth.cli.ui_hosts", *code]
        cmd += ["-h", HOST, "-p", str(dport)] + ([] if allow_launch else ["--read-only"])
        servers.append(start("Dagster UI", cmd, url, "/server_info", logs / "dagster-ui.log", env))
        cmd = [executable("dagster-daemon"), "run", *code]
        servers.append(start("Dagster daemon", cmd, "", None, logs / "dagster-daemon.log", env))
        mlflow_note = "signs in with its own server's accounts"
        tracking = settings.mlflow_tracking_uri()
        if tracking.startswith(("http://", "https://")):
            mlflow_url = tracking  # a shared tracking server: nothing to start here
        else:
            from models.registry import Registry

            mport = mlflow_port or free_port(5000)
            # the experiment on the model-training view; a moved home's artifacts found first
            page = Registry(tracking).ui_page()
            base_url = f"http://{HOST}:{mport}"
            mlflow_url = base_url + page
            artifacts = settings.mlflow_artifact_root()
            artifacts.mkdir(parents=True, exist_ok=True)
            cmd = [executable("mlflow"), "server", "--backend-store-uri", tracking]
            cmd += ["--artifacts-destination", artifacts.as_uri(), "--workers", "1"]
            cmd += ["--host", HOST, "--port", str(mport), "--app-name", "hearth"]
            # the same names as the Dagster UI, no more (MLflow's default adds private ranges)
            cmd += ["--allowed-hosts", mlflow_allowed_hosts(allowed_names())]
            auth = ensure_mlflow_auth(home)
            mlflow_note = f"sign in as {ADMIN}: the password is in {auth.password_file}"
            # the server's background job runner (GenAI evaluation jobs) is not used by Hearth
            menv = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **env, **auth.env()}
            servers.append(
                start("MLflow UI", cmd, base_url, "/health", logs / "mlflow-ui.log", menv)
            )
        _echo(f"Starting the Dagster UI and the MLflow UI for HEARTH_HOME={home} ...")
        bad = wait_ready(servers, timeout)
        if bad is not None:
            why = "stopped" if bad.proc.poll() is not None else f"did not answer in {timeout:.0f} s"
            fail(f"The {bad.name} {why}; see {bad.log}.", 1, label="")
        mode = (
            "LAUNCHING ALLOWED: anyone who can reach this address can start a run"
            if allow_launch
            else "read-only (hearth ui --allow-launch to launch runs from it)"
        )
        _echo(
            f"Dagster UI  {url}\n"
            "            runs, asset checks, the landing sensor and the monthly schedule\n"
            f"            {mode}\n"
            f"MLflow UI   {mlflow_url}\n"
            "            model versions, metrics, fairness and the @champion\n"
            f"            {mlflow_note}\n"
            f"Logs in {logs}. Press Ctrl-C to stop both.",
        )
        while True:
            for s in servers:
                if s.proc.poll() is not None:
                    fail(f"The {s.name} stopped; see {s.log}.", 1, label="")
            time.sleep(1)
    except KeyboardInterrupt:
        _echo("\nStopping the UIs ...")
    finally:
        for sig in previous:  # a second Ctrl-C must not cut the shutdown short
            signal.signal(sig, signal.SIG_IGN)
        stop(servers)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _echo("Stopped.")
