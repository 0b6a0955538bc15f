"""Who may use a role: OS users and groups mapped to roles in a file the installer owns.

`hearth reidentify --role police` hands out the police view of the list beside the agency's
own identifiers, so the role is not taken on the caller's word: the person running Hearth, as
the kernel knows them (their login user, /proc/self/loginuid, which `sudo -u <service account>`
keeps; the effective user where no login was recorded; never an environment variable), must be
given that role in the roles file, by name or through one of their OS groups:

    # HEARTH_ROLES_FILE, default HEARTH_HOME/roles.yaml
    police:
      users: [asmith]
      groups: [hearth-police]
    health:
      groups: [hearth-health]
    audit:                      # not a role: where each audit entry is also sent
      sink: file:/var/log/hearth/audit.jsonl

The file is trusted only if it is owned by root or by the owner of HEARTH_HOME and nobody else
can change it (no group or other write bit, on it or on its folder). With no roles file, only
the owner of HEARTH_HOME may use roles (a single-user install, the demo, the tests); anyone else
is refused and told how to set one up."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from hearth import settings
from hearth.privacy.access import home_owner, login_user, mode_text, os_user, user_name
from hearth.quality.contracts import ROLES

ROLES_ENV_VAR = settings.ROLES_FILE_ENV
SETUP_HINT = "see 'Access' in docs/operations.md"
AUDIT_KEY = "audit"  # the roles file's section naming the audit sink (hearth/privacy/audit.py)


class RoleError(PermissionError):
    """A role that may not be used, or a roles file that cannot be trusted, in a sentence."""


@dataclass(frozen=True)
class Grant:
    """Who was allowed to use `role`, and on what grounds (both go on the audit row)."""

    role: str
    user: str  # the person the role was checked for: the kernel's login user
    os_user: str  # the account the process runs as
    # "user asmith in /etc/hearth/roles.yaml", "owner of HEARTH_HOME (no roles file)"
    via: str | None


def _trusted(path: Path) -> None:
    """Refuse a roles file that someone other than the installer could have written."""
    st = path.stat()
    owner = user_name(st.st_uid)
    installer = home_owner()
    if st.st_uid != 0 and owner != installer:
        raise RoleError(
            f"The roles file {path} belongs to {owner}, not to root or to the owner of "
            f"HEARTH_HOME ({installer}); it was not trusted and no role may be used. The "
            f"installer must own it ({SETUP_HINT})."
        )
    if not stat.S_ISREG(st.st_mode):
        raise RoleError(f"The roles file {path} is not a regular file; it was not trusted.")
    for p in (path, path.resolve().parent):
        if p.stat().st_mode & 0o022:
            what = "file" if p == path else "folder"
            raise RoleError(
                f"The roles {what} {p} can be changed by users other than its owner (mode "
                f"{mode_text(p)}); it was not trusted and no role may be used. Make it "
                f"writable by its owner only: chmod go-w {p}"
            )


def _read(path: Path) -> dict:
    _trusted(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise RoleError(f"The roles file {path} could not be read ({type(e).__name__}).") from None
    if not isinstance(data, dict):
        raise RoleError(f"The roles file {path} must map each role to its users and groups.")
    return data


def audit_settings() -> tuple[dict, Path] | None:
    """The roles file's `audit` section (where each audit entry is also sent) and the file,
    when the file exists and is trusted; None without a roles file; RoleError if untrusted.
    It lives here because the installer owns this file: the service account cannot change it."""
    path, _ = settings.roles_file()
    try:
        if not path.exists():
            return None
    except PermissionError:
        raise RoleError(f"The roles file {path} cannot be reached (permission denied).") from None
    section = _read(path).get(AUDIT_KEY) or {}
    if not isinstance(section, dict):
        raise RoleError(f"In the roles file {path}, '{AUDIT_KEY}' must be a mapping (sink, read).")
    return section, path


def load_roles(path: Path) -> dict[str, dict[str, set[str]]]:
    """{role: {"users": {...}, "groups": {...}}} from a roles file, checked."""
    data = _read(path)
    out: dict[str, dict[str, set[str]]] = {}
    for role, who in data.items():
        if role == AUDIT_KEY:
            continue
        if role not in ROLES:
            raise RoleError(
                f"The roles file {path} names an unknown role {role!r}; roles are: "
                f"{', '.join(ROLES)}."
            )
        who = who or {}
        if not isinstance(who, dict) or set(who) - {"users", "groups"}:
            raise RoleError(
                f"In the roles file {path}, role {role!r} must have only 'users' and 'groups' "
                "lists."
            )
        lists = {}
        for key in ("users", "groups"):
            names = who.get(key) or []
            if isinstance(names, str) or not all(isinstance(n, str) for n in names):
                raise RoleError(
                    f"In the roles file {path}, '{key}' of role {role!r} must be a list of names."
                )
            lists[key] = set(names)
        out[role] = lists
    return out


def groups_of(user: str) -> set[str]:
    """The OS groups `user` belongs to (primary and supplementary)."""
    try:
        gid = pwd.getpwnam(user).pw_gid
    except KeyError:
        return set()
    names = set()
    for g in os.getgrouplist(user, gid):
        try:
            names.add(grp.getgrgid(g).gr_name)
        except KeyError:
            continue
    return names


def authorise(role: str) -> Grant:
    """The grant for the person running this process to use `role`, or RoleError."""
    if role not in ROLES:
        raise RoleError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    account, person = os_user(), login_user()
    path, named = settings.roles_file()
    try:
        path.stat()
    except PermissionError:
        raise RoleError(
            f"The roles file {path} cannot be reached by {person} (permission denied on its "
            f"folder); no role may be used. It must be readable by everyone who uses a role "
            f"({SETUP_HINT})."
        ) from None
    except OSError:  # no such file: whether that may be is decided just below
        pass
    if not path.exists():
        if named:
            raise RoleError(
                f"{ROLES_ENV_VAR} names {path}, which does not exist; no role may be used."
            )
        owner = home_owner()
        if person == owner:
            return Grant(role, person, account, "owner of HEARTH_HOME (no roles file)")
        raise RoleError(
            f"There is no roles file ({path}), so only the owner of HEARTH_HOME ({owner}) may "
            f"use a role, and you are {person}. The installer maps OS users or groups to roles "
            f"in that file ({SETUP_HINT})."
        )
    roles = load_roles(path)
    allowed = roles.get(role, {"users": set(), "groups": set()})
    if person in allowed["users"]:
        return Grant(role, person, account, f"user {person} in {path}")
    shared = sorted(groups_of(person) & allowed["groups"])
    if shared:
        return Grant(role, person, account, f"group {shared[0]} in {path}")
    raise RoleError(
        f"{person} may not use the {role} role: the roles file {path} does not give it to "
        f"{person} or to any of their groups. Ask the installer to add you ({SETUP_HINT})."
    )
