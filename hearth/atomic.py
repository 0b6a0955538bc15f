"""Writing a file whole or not at all: into a temporary file beside it, then one rename.

Every file Hearth writes for someone else to read (feature sets, commit records, the audit
head, a partner's pseudonymised or re-identified extract, Dagster's settings) goes through
here, so a process killed mid-write leaves the old file or the new one, never half of one.
Folders of outputs are swapped the same way by the run's commit (hearth/operations/commit.py)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file's (or a folder's entries') changes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, write: Callable[[Path], None], durable: bool = False) -> None:
    """Call `write(tmp)` on a fresh owner-only temporary file beside `path`, then rename it
    over `path`. `durable` also flushes the file and its folder to disk (a commit record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        if durable:
            fsync_path(tmp)
        os.replace(tmp, path)
        if durable:
            fsync_path(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str, durable: bool = False) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), durable)


def read_record(path: Path) -> dict | None:
    """A marker or commit record: None if there is none, {} if it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # a record cut short: still a sign that a run did not finish
    return data if isinstance(data, dict) else {}
