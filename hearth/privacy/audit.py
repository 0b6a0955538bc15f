"""The audit log: every use of a feature that re-identifies, in a chain no one can quietly edit.

It lives in its own folder, HEARTH_HOME/audit/, not in the warehouse, so writing a row never
waits for (or fails on) a run or a reader holding the DuckDB file:

- `log.jsonl`: one JSON entry a line, appended under an exclusive `flock` (`.lock`). Each entry
  holds the hash of the one before (`prev`) and its own `hash`: SHA-256 of its canonical JSON
  (sorted keys, no spaces) without the `hash` field. Changing an entry breaks its hash;
  deleting or moving one breaks the next entry's `prev`.
- `head.json`: how many entries there are and the newest one's hash, rewritten after every
  append, so deleting entries from the end is detected too.

Whoever can write the folder (the service account Hearth runs as) could still delete it, or
rebuild the whole chain and its head. So each entry is also sent, before it is written here, to
a sink outside the account's reach (hearth/privacy/audit_sink.py: syslog or journald, a webhook,
or an append-only file another user owns), named in the installer's roles file (`audit:` `sink:`)
or HEARTH_AUDIT_SINK; `verify()` (`hearth audit --verify`) checks the log against the copies
there: how many, each one's hash, the newest. With no sink it says what it cannot detect.

The user recorded is the kernel's login user (/proc/self/loginuid: the person who logged in,
kept through sudo), never an environment variable. Entries hold counts, roles and OS user
names, never an identifier or a pseudonym of a list."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from hearth import settings
from hearth.atomic import write_text_atomically
from hearth.privacy import audit_sink
from hearth.privacy.access import login_uid, login_user, os_user

# The chain's primitives live with its checks; named here too, as callers know them.
from hearth.privacy.audit_checks import BLIND_SPOTS as BLIND_SPOTS
from hearth.privacy.audit_checks import FIELDS as FIELDS
from hearth.privacy.audit_checks import GENESIS as GENESIS
from hearth.privacy.audit_checks import canonical as canonical
from hearth.privacy.audit_checks import check_chain, check_expected, check_sink
from hearth.privacy.audit_checks import entry_hash as entry_hash
from hearth.privacy.role_access import RoleError, audit_settings
from hearth.warehouse import query, query_one


def audit_dir() -> Path:
    return settings.hearth_home() / "audit"


def log_path() -> Path:
    return audit_dir() / "log.jsonl"


def head_path() -> Path:
    return audit_dir() / "head.json"


@contextlib.contextmanager
def _locked(exclusive: bool) -> Iterator[None]:
    folder = audit_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _lines() -> list[str]:
    path = log_path()
    if not path.exists():
        return []
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _write_head(count: int, last: str) -> None:
    write_text_atomically(head_path(), json.dumps({"entries": count, "hash": last}), durable=True)


class AuditError(RuntimeError):
    """An entry could not be recorded (its sink refused it): a sentence; nothing was written."""


def sink() -> audit_sink.Sink | None:
    """The configured sink (the installer's roles file first, then the environment)."""

    try:
        section = audit_settings()
    except RoleError:
        section = None  # an untrusted roles file names no sink; verify says so
    return audit_sink.configured(section)


def append(
    action: str,
    *,
    role: str | None,
    via: str | None,
    clients: int | None = None,
    matched: int | None = None,
    run_as_of: str | None = None,
    detail: dict | None = None,
) -> dict:
    """Add one entry at the end of the chain, send it to the sink, move the head; returns it.
    Who did it is read from the kernel here, not taken from the caller."""
    import_legacy()
    try:
        target = sink()
    except audit_sink.AuditSinkError as e:
        raise AuditError(str(e)) from None
    with _locked(exclusive=True):
        return _append_locked(
            action,
            role=role,
            user=login_user(),
            os_user=os_user(),
            login_uid=login_uid(),
            via=via,
            clients=clients,
            matched=matched,
            run_as_of=run_as_of,
            detail=detail,
            target=target,
        )


def _append_locked(
    action: str,
    *,
    role: str | None,
    user: str,
    os_user: str,
    login_uid: int | None,
    via: str | None,
    clients: int | None,
    matched: int | None,
    run_as_of: str | None,
    detail: dict | None,
    target: audit_sink.Sink | None,
) -> dict:
    lines = _lines()
    prev, seq = GENESIS, 1
    if lines:
        try:
            last = json.loads(lines[-1])
            prev, seq = str(last["hash"]), int(last["seq"]) + 1
        except (ValueError, KeyError, TypeError):
            # a damaged last line: link to its bytes, so --verify still names it
            prev, seq = hashlib.sha256(lines[-1].encode()).hexdigest(), len(lines) + 1
    entry = {
        "seq": seq,
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": action,
        "role": role,
        "user": user,
        "os_user": os_user,
        "login_uid": login_uid,
        "via": via,
        "clients": clients,
        "matched": matched,
        "run_as_of": run_as_of,
        "detail": detail or {},
        "prev": prev,
    }
    entry["hash"] = entry_hash(entry)
    # The sink first: an entry it did not take is not written here, and the caller hands
    # nothing out. (One it took whose local write then failed shows in --verify.)
    if target is not None:
        try:
            audit_sink.send(target, entry, settings.hearth_home())
        except audit_sink.AuditSinkError as e:
            raise AuditError(f"{e} Nothing was recorded or handed out.") from None
    line = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    fd = os.open(log_path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    _write_head(len(lines) + 1, entry["hash"])
    return entry


def import_legacy() -> int:
    """Copy the rows of the warehouse's old `audit_log` table (kept there before the audit had
    its own folder) into a new log, once, as its first entries; the OS user of those rows was
    never recorded. Nothing is done if the log or its head exists, or the warehouse is busy."""

    if log_path().exists() or head_path().exists():
        return 0
    warehouse = settings.warehouse_path()
    if not warehouse.is_file():
        return 0
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return 0  # held for writing by another process: try again next time
    try:
        if not (query_one(con, "publish/audit_legacy_exists") or (0,))[0]:
            return 0
        rows = query(con, "publish/audit_legacy").fetchall()
    finally:
        con.close()
    try:
        target = sink()
    except audit_sink.AuditSinkError:
        target = None
    with _locked(exclusive=True), contextlib.suppress(AuditError):
        if log_path().exists() or head_path().exists():
            return 0
        for used_at, action, role, clients, matched, run_as_of, detail in rows:
            try:
                extra = json.loads(detail or "{}")
            except ValueError:
                extra = {}
            extra["imported_from_warehouse"] = str(used_at)
            _append_locked(
                action,
                role=role,
                user="unknown (recorded before OS users were)",
                os_user="unknown",
                login_uid=None,
                via=None,
                clients=clients,
                matched=matched,
                run_as_of=run_as_of,
                detail=extra,
                target=target,
            )
    return len(rows)


def entries() -> list[dict]:
    """Every entry that can be read, oldest first (damaged lines are left out: see verify)."""
    import_legacy()
    with _locked(exclusive=False):
        lines = _lines()
    out = []
    for ln in lines:
        with contextlib.suppress(ValueError):
            e = json.loads(ln)
            if isinstance(e, dict):
                out.append(e)
    return out


@dataclass
class Verification:
    entries: int
    head: str | None  # "N:HASH" of the newest entry
    problems: list[str] = field(default_factory=list)  # what was found altered
    sink: str | None = None  # the sink the log was checked against, described
    sink_entries: int | None = None  # how many entries it holds for this home
    # why no verdict could be reached (no log and nothing to compare with, an unreadable sink)
    undetermined: str | None = None
    blind_spots: tuple[str, ...] = ()  # what this check could not detect (no sink)

    @property
    def intact(self) -> bool:
        return not self.problems and self.undetermined is None


def verify(expect: str | None = None) -> Verification:
    """Check every entry's hash and link and the head, then the log against the sink's copies;
    `expect` is an earlier head line ("N:HASH") that entry N must still match."""
    import_legacy()
    with _locked(exclusive=False):
        lines = _lines()
        head = None
        if head_path().exists():
            try:
                head = json.loads(head_path().read_text(encoding="utf-8"))
            except ValueError:
                head = {}
            if not isinstance(head, dict):
                head = {}
    problems, hashes = check_chain(lines, head, head_path())
    if expect:
        problems += check_expected(expect, hashes)
    n = len(lines)
    result = Verification(n, f"{n}:{hashes[-1]}" if hashes else None, problems)
    try:
        target = sink()
    except audit_sink.AuditSinkError as e:
        result.undetermined = str(e)
        return result
    if target is None:
        result.blind_spots = BLIND_SPOTS
        if not n and head is None and not problems:
            result.undetermined = (
                "There is no audit log in this home, and no audit sink to compare with: Hearth "
                "cannot tell a log that was never written (no one has used hearth reidentify "
                f"here) from one that was deleted. Configure a sink ({audit_sink.HOW_TO})."
            )
        return result
    result.sink = target.describe()
    try:
        copies = audit_sink.read_copies(target, settings.hearth_home())
    except audit_sink.AuditSinkError as e:
        result.undetermined = f"{e} The log was not checked against the sink."
        return result
    result.sink_entries = len({c.get("seq") for c in copies})
    result.problems += check_sink(hashes, copies)
    return result
