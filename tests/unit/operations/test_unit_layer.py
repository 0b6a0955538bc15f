"""The unit layer imports no Dagster: every module under tests/unit/, imported in a fresh
interpreter, leaves `dagster` (and its dagster_* packages) unloaded, so nothing of Hearth's
Dagster code (hearth/defs/, hearth.definitions, the launcher's run) is used there either. A unit
test that needs Dagster belongs in tests/assets/ (docs/architecture.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.environment import without_hearth

TESTS = Path(__file__).resolve().parents[2]
DAGSTER = "dagster"  # a prefix: dagster, dagster_pipes, dagster_webserver, ...


def test_no_unit_test_module_loads_dagster():
    modules = sorted(
        ".".join(p.relative_to(TESTS.parent).with_suffix("").parts)
        for p in (TESTS / "unit").rglob("test_*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.startswith({DAGSTER!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        env=without_hearth(),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout
