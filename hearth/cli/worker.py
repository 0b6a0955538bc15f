"""`hearth worker`: a celery worker that runs the steps of `hearth run --executor celery`
(dagster-celery's worker, configured from Hearth's settings)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from hearth import settings
from hearth.atomic import write_text_atomically
from hearth.cli.console import console, fail
from hearth.operations.executors import (
    BROKER_ENV,
    broker_url,
    redacted,
    worker_command,
    worker_environment,
    worker_yaml,
)


def write_worker_config() -> Path:
    """DAGSTER_HOME/celery/worker.yaml, from the settings (the broker and backend are named by
    environment variable, never written out)."""
    from hearth.cli.launch import ensure_dagster_home

    path = ensure_dagster_home() / "celery" / "worker.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, worker_yaml())
    return path


def worker_command_line(
    name: str | None, concurrency: int, landing: Path | None
) -> tuple[list[str], dict]:
    """The command and environment `hearth worker` starts (tests start the same)."""
    config = write_worker_config()
    worker = f"hearth-{name or socket.gethostname()}-{os.getpid()}@%h"
    return worker_command(config, worker, concurrency), worker_environment(landing)


def worker_command_cli(
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Steps this worker runs at once.")
    ] = 1,
    name: Annotated[
        str | None, typer.Option("--name", help="The worker's name (default: the host's).")
    ] = None,
    landing: Annotated[
        Path | None,
        typer.Option(
            "--landing",
            help="The landing folder runs read, when it is not HEARTH_HOME/landing (the same "
            "folder as `hearth run --landing`, at the same path on this machine).",
        ),
    ] = None,
) -> None:
    """Start a celery worker for `hearth run --executor celery`; Ctrl-C stops it."""
    if landing is not None and not landing.is_dir():
        fail(f"The landing folder {landing} does not exist.")
    command, env = worker_command_line(name, concurrency, landing)
    console.print(
        f"Celery worker on {redacted(broker_url())} ({BROKER_ENV}), {concurrency} step(s) at "
        f"a time, HEARTH_HOME={settings.hearth_home()}. Ctrl-C stops it.",
        markup=False,
    )
    try:
        code = subprocess.call(command, env=env)
    except KeyboardInterrupt:
        code = 0
    except OSError as e:
        fail(f"Could not start the celery worker ({type(e).__name__}: {e.strerror}).")
    raise typer.Exit(code)
