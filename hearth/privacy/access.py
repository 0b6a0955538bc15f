"""Private by default: who may read what Hearth keeps.

Everything under HEARTH_HOME (the warehouse, MLflow's store, Dagster's storage, the outputs,
the role files, the audit log) holds pseudonymised records of real households, so it is created
for its owner only: folders 0700, files 0600. Hearth's processes run with umask 077 (the CLI
sets it when it starts, the Dagster resources when a run starts), and a home that is already
readable by others is tightened the first time Hearth meets it.

Secrets (the pseudonymisation key, the roles file that says who may use a role) are refused
when their permissions let someone else read or change them."""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
from pathlib import Path

from hearth import settings

PRIVATE_UMASK = 0o077
# What Hearth keeps in HEARTH_HOME: tightened (group and other bits removed) when the home is
# found readable by others. Anything else in the folder is left as its owner made it.
HOME_ENTRIES = (
    "warehouse.duckdb",
    "warehouse.duckdb.wal",
    "mlflow.db",
    "mlartifacts",
    "mlflow-auth",
    "dagster",
    "outputs",
    "features",
    "landing",
    "_truth",
    "logs",
    "audit",
    "roles.yaml",
    "capacity.yaml",
    "last_run.json",
    "alerts.log",
    ".run.lock",
)


def private_process() -> None:
    """Files and folders this process creates from now on are its owner's only (umask 077).
    Child processes (the UIs, Dagster's daemon and its runs) inherit it."""
    os.umask(PRIVATE_UMASK)


def loose_bits(path: Path) -> int:
    """The group and other permission bits of `path` (0 when it is private)."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077


def mode_text(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def _tighten(path: Path) -> None:
    """Remove group and other bits from `path` and, for a folder, everything in it. Links are
    not followed (a link's target is not Hearth's to change)."""
    if path.is_symlink() or not path.exists():
        return
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IMODE(path.lstat().st_mode) & 0o700)
    if path.is_dir():
        for root, dirs, files in os.walk(path, followlinks=False):
            for name in [*dirs, *files]:
                p = Path(root, name)
                if not p.is_symlink():
                    with contextlib.suppress(OSError):
                        os.chmod(p, stat.S_IMODE(p.lstat().st_mode) & 0o700)


def ensure_private_home(home: Path | None = None, create: bool = True) -> Path:
    """HEARTH_HOME for its owner only: created 0700; an existing home that others could read
    is made 0700 and Hearth's own files in it lose their group and other bits."""
    home = home or settings.hearth_home()
    if not home.exists():
        if not create:
            return home
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(home, 0o700)  # mkdir's mode is masked by the umask, never widened: be exact
        return home
    if home.is_dir() and loose_bits(home) and home.stat().st_uid == os.getuid():
        for name in HOME_ENTRIES:
            _tighten(home / name)
        os.chmod(home, 0o700)
    return home


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def os_user() -> str:
    """The OS account this process runs as (its real user id)."""
    return user_name(os.getuid())


# /proc/self/loginuid holds this value until a login sets it (a service, a container).
UNSET_LOGINUID = 4294967295


def login_uid() -> int | None:
    """The user id the kernel recorded when this session logged in (pam_loginuid), or None when
    it was never set. Unlike SUDO_USER or any environment variable, a process cannot change it:
    `sudo -u hearth ...` keeps the analyst's, and so do its children."""
    try:
        text = Path("/proc/self/loginuid").read_text(encoding="ascii").strip()
        uid = int(text)
    except (OSError, ValueError):
        return None
    return None if uid == UNSET_LOGINUID else uid


def login_user() -> str:
    """Who is behind this process, as the kernel knows it: the login user (the person who
    logged in, whatever account they then became through sudo), or, where no login was
    recorded, the effective user's name. Never read from the environment."""
    uid = login_uid()
    return user_name(os.geteuid() if uid is None else uid)


def home_owner(home: Path | None = None) -> str | None:
    home = home or settings.hearth_home()
    try:
        return user_name(home.stat().st_uid)
    except OSError:
        return None


def refuse_shared_secret(path: Path, what: str) -> str | None:
    """A sentence if `path` (a key or credentials file) can be read or changed by anyone but
    its owner; None when it is private."""
    bits = loose_bits(path)
    if not bits:
        return None
    who = (
        "its group and others"
        if bits & 0o070 and bits & 0o007
        else ("its group" if bits & 0o070 else "other users")
    )
    return (
        f"The {what} {path} can be read or changed by {who} (mode {mode_text(path)}); it was not "
        f"used. Make it private to its owner: chmod 600 {path}"
    )


def inside(path: Path, folder: Path) -> bool:
    """Whether `path`, with every link resolved, is `folder` or under it."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def run_path_refusal(resource: str, value: str, configured: Path, env_var: str) -> str | None:
    """Why a path given to a Dagster resource by run config may not be used, or None.

    Run config can be written by anyone who can launch a run in the UI, so a resource accepts
    only HEARTH_HOME and what lies under it, and the place its environment variable names
    (`configured`: e.g. HEARTH_LANDING, which `hearth run --landing DIR` sets for its run)."""
    path = Path(value).expanduser()
    home = settings.hearth_home()
    if inside(path, home) or inside(path, configured):
        return None
    return (
        f"The run's configuration points the {resource} resource at {path}, outside HEARTH_HOME "
        f"({home}) and outside {env_var} ({configured}); the run was refused and nothing was "
        f"read or written. Set {env_var} where Hearth runs to use another place."
    )


def resource_refusal_sentence(message: str) -> str | None:
    """The sentence of a refusal above, from the error Dagster reports when a resource could
    not be built (pydantic wraps it: '... Value error, <sentence> [type=value_error ...')."""
    marker = "The run's configuration points the "
    start = message.find(marker)
    if start < 0:
        return None
    end = message.find(" [type=", start)
    return message[start : end if end > 0 else None].strip()
