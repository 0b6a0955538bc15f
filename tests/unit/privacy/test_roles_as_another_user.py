"""The roles-file check, run as a user who is not root and does not own HEARTH_HOME (nobody,
through setpriv), as an analyst on a shared server is. As root every file is "the caller's"
and "the installer's" at once, so a check that trusted any file the caller owns would pass
every other test; here it cannot. Real processes, real files, no mocks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

NOBODY = 65534
SETPRIV = shutil.which("setpriv")
pytestmark = pytest.mark.skipif(
    os.getuid() != 0 or SETPRIV is None, reason="needs root (to become nobody) and setpriv"
)

AUTHORISE = (
    "import json, sys\n"
    "from hearth.privacy.role_access import RoleError, authorise\n"
    "try:\n"
    "    g = authorise(sys.argv[1])\n"
    "    print(json.dumps({'user': g.user, 'os_user': g.os_user, 'via': g.via}))\n"
    "except RoleError as e:\n"
    "    print(json.dumps({'refused': str(e)}))\n"
)


@pytest.fixture
def server() -> Iterator[Path]:
    """A home the installer (root) owns, beside folders for roles files, all reachable by
    nobody (nothing in the home is readable by it)."""
    base = Path(tempfile.mkdtemp(prefix="hearth-roles-", dir="/tmp"))
    base.chmod(0o755)
    (base / "home").mkdir(mode=0o700)
    yield base
    shutil.rmtree(base)


def _roles_file(base: Path, text: str, owner: int, mode: int, name: str) -> Path:
    folder = base / name
    folder.mkdir()
    folder.chmod(0o755)  # exactly: an earlier test may have left the umask at 077
    os.chown(folder, owner, owner)
    path = folder / "roles.yaml"
    path.write_text(text)
    os.chown(path, owner, owner)
    path.chmod(mode)
    return path


def _as_nobody(base: Path, role: str, roles: Path) -> dict:
    """`authorise(role)` in a process running as nobody; only Hearth's variables changed."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HEARTH_") and k not in ("DAGSTER_HOME", "MLFLOW_TRACKING_URI")
    }
    env |= {"HEARTH_HOME": str(base / "home"), "HEARTH_ROLES_FILE": str(roles)}
    done = subprocess.run(
        [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        + [sys.executable, "-c", AUTHORISE, role],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_roles_file_the_caller_owns_is_refused(server):
    """nobody writes itself a roles file granting itself police: not the installer's."""
    own = _roles_file(server, "police:\n  users: [nobody]\n", NOBODY, 0o644, "mine")
    got = _as_nobody(server, "police", own)
    assert "refused" in got, got
    assert f"The roles file {own} belongs to nobody, not to root or to the owner" in got["refused"]


def test_a_roles_file_the_caller_can_write_through_its_group_is_refused(server):
    """Root owns it, but nobody's group may write it: nobody could have granted itself."""
    shared = _roles_file(server, "police:\n  users: [nobody]\n", 0, 0o664, "shared")
    os.chown(shared, 0, NOBODY)
    got = _as_nobody(server, "police", shared)
    assert "can be changed by users other than its owner" in got.get("refused", ""), got


def test_a_role_the_installers_file_does_not_grant_is_refused(server):
    roles = _roles_file(server, "police:\n  users: [asmith]\n", 0, 0o644, "etc")
    got = _as_nobody(server, "police", roles)
    assert got == {
        "refused": f"nobody may not use the police role: the roles file {roles} does not give "
        "it to nobody or to any of their groups. Ask the installer to add you (see 'Access' in "
        "docs/operations.md)."
    }


def test_a_role_the_installers_file_grants_works(server):
    roles = _roles_file(
        server, "police:\n  users: [nobody]\nfire:\n  groups: [nogroup]\n", 0, 0o644, "etc"
    )
    police = _as_nobody(server, "police", roles)
    assert police == {"user": "nobody", "os_user": "nobody", "via": f"user nobody in {roles}"}
    fire = _as_nobody(server, "fire", roles)
    assert fire.get("via") == f"group nogroup in {roles}", fire
    assert "refused" in _as_nobody(server, "health", roles)


def test_a_roles_file_the_caller_cannot_reach_is_a_sentence(server):
    roles = _roles_file(server, "police:\n  users: [nobody]\n", 0, 0o644, "closed")
    roles.parent.chmod(0o700)
    got = _as_nobody(server, "police", roles)
    assert got == {
        "refused": f"The roles file {roles} cannot be reached by nobody (permission denied on "
        "its folder); no role may be used. It must be readable by everyone who uses a role "
        "(see 'Access' in docs/operations.md)."
    }
