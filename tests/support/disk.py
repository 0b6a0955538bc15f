"""A temporary folder on the machine's disk, for the tests that install packages into a venv.

The tests' own temporary folders may be in memory (tests/conftest.py). uv installs a package by
hard-linking it from its cache, which it can do only on the cache's own filesystem; into memory
it would copy every file instead (a venv is a gigabyte or more). A venv goes here: the system's
temporary folder, as before, removed when the block ends."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def on_disk(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"hearth-{prefix}-") as folder:
        yield Path(folder)
