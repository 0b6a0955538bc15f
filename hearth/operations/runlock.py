"""One run at a time on a warehouse: an exclusive file lock beside the DuckDB file.

DuckDB takes one writing process per database file, and Hearth's runs write the warehouse, the
MLflow store and the outputs. Runs launched by Dagster's daemon queue in the run queue (pool
`warehouse`, limit 1), but `hearth run` executes in its own process and never passes through that
queue, so every run - however launched - also takes this lock for its whole length. A second run
waits for the first and then goes on; it never fails on DuckDB's file lock.

The lock is an `fcntl.flock` on `<warehouse folder>/.run.lock` (HEARTH_HOME/.run.lock by
default). The kernel drops it when the holder dies, even by `kill -9`, so a killed run never
leaves it stuck. It is re-entrant within a process: `hearth run` takes it to print a message
while waiting, and the run's warehouse resource takes it again without blocking.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".run.lock"

_held: dict[str, list] = {}  # lock path -> [fd, depth], for re-entry within this process
_guard = threading.Lock()


def lock_path(folder: Path) -> Path:
    return folder / LOCK_NAME


def holder(folder: Path) -> dict | None:
    """Who holds (or last held) the lock: pid, what and since when, as written by the holder."""
    try:
        return json.loads(lock_path(folder).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None


def _describe(info: dict | None) -> str:
    if not info:
        return "another run"
    what = info.get("what") or "a run"
    since = info.get("since")
    return f"{what} (process {info.get('pid')}, started {since})" if since else what


@contextmanager
def run_lock(
    folder: Path,
    what: str = "a Hearth run",
    say: Callable[[str], None] | None = None,
    timeout: float | None = None,
    poll: float = 0.5,
) -> Iterator[None]:
    """Hold the run lock for `folder` while the block runs; wait (saying so once) if another
    process holds it. `timeout` (seconds) raises TimeoutError instead of waiting for ever."""
    folder.mkdir(parents=True, exist_ok=True)
    path = lock_path(folder)
    key = str(path.resolve())
    with _guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is not None:
        try:
            yield
        finally:
            with _guard:
                entry[1] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if say:
                who = _describe(holder(folder))
                say(f"Waiting for the run already in progress to finish: {who}.")
            started = time.monotonic()
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if timeout is not None and time.monotonic() - started > timeout:
                        raise TimeoutError(
                            f"Gave up after {timeout:.0f} s waiting for "
                            f"{_describe(holder(folder))} to finish."
                        ) from None
                    time.sleep(poll)
            if say:
                say(f"The earlier run finished after {time.monotonic() - started:.0f} s; going on.")
        info = {"pid": os.getpid(), "what": what, "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        with _guard:
            _held[key] = [fd, 1]
        try:
            yield
        finally:
            with _guard:
                _held.pop(key, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
