"""The audit log: every use of a feature that re-identifies, in a chain no one can quietly edit.

It lives in its own folder, HEARTH_HOME/audit/, not in the warehouse, so writing a row never
waits for (or fails on) a run or a reader holding the DuckDB file:

- `log.jsonl`: one JSON entry a line, appended under an exclusive `flock` (`.lock`). Each entry
  holds the hash of the one before (`prev`) and its own `hash`: SHA-256 of its canonical JSON
  (sorted keys, no spaces) without the `hash` field. Changing an entry breaks its hash;
  deleting or moving one breaks the next entry's `prev`.
- `head.json`: how many entries there are and the newest one's hash, rewritten after every
  append, so deleting entries from the end is detected too.

`verify()` (`hearth audit --verify`) checks all of it. Someone who can write the folder could
still rebuild the whole chain and its head; to catch that, keep the head line that `--verify`
prints somewhere else (the council's records) and check against it with `--expect N:HASH`.
Entries hold counts, roles and OS user names, never an identifier or a pseudonym of a list."""

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

from hearth import settings
from hearth.atomic import write_text_atomically

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "at",
    "action",
    "role",
    "user",
    "os_user",
    "sudo_user",
    "via",
    "clients",
    "matched",
    "run_as_of",
    "detail",
    "prev",
)


def audit_dir() -> Path:
    return settings.hearth_home() / "audit"


def log_path() -> Path:
    return audit_dir() / "log.jsonl"


def head_path() -> Path:
    return audit_dir() / "head.json"


def canonical(entry: dict) -> bytes:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


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


def append(
    action: str,
    *,
    role: str | None,
    user: str,
    os_user: str,
    sudo_user: str | None,
    via: str | None,
    clients: int | None = None,
    matched: int | None = None,
    run_as_of: str | None = None,
    detail: dict | None = None,
) -> dict:
    """Add one entry at the end of the chain and move the head to it; returns the entry."""
    import_legacy()
    with _locked(exclusive=True):
        return _append_locked(
            action,
            role=role,
            user=user,
            os_user=os_user,
            sudo_user=sudo_user,
            via=via,
            clients=clients,
            matched=matched,
            run_as_of=run_as_of,
            detail=detail,
        )


def _append_locked(
    action: str,
    *,
    role: str | None,
    user: str,
    os_user: str,
    sudo_user: str | None,
    via: str | None,
    clients: int | None,
    matched: int | None,
    run_as_of: str | None,
    detail: dict | None,
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
        "sudo_user": sudo_user,
        "via": via,
        "clients": clients,
        "matched": matched,
        "run_as_of": run_as_of,
        "detail": detail or {},
        "prev": prev,
    }
    entry["hash"] = entry_hash(entry)
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
    import duckdb

    from hearth.warehouse import query, query_one

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
    with _locked(exclusive=True):
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
                sudo_user=None,
                via=None,
                clients=clients,
                matched=matched,
                run_as_of=run_as_of,
                detail=extra,
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
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _describe(e: dict) -> str:
    role = f", role {e.get('role')}" if e.get("role") else ""
    return f"entry {e.get('seq')} ({e.get('at', '?')[:19]}, {e.get('action')}{role})"


def verify(expect: str | None = None) -> Verification:
    """Check every entry's hash and link, and the head; `expect` is an earlier head line
    ("N:HASH") that entry N must still match."""
    import_legacy()
    with _locked(exclusive=False):
        lines = _lines()
        head = None
        if head_path().exists():
            try:
                head = json.loads(head_path().read_text(encoding="utf-8"))
            except ValueError:
                head = {}
    problems: list[str] = []
    hashes: list[str] = []
    prev, last_seq = GENESIS, 0
    for i, ln in enumerate(lines, start=1):
        try:
            e = json.loads(ln)
            if not isinstance(e, dict) or set(e) != {*FIELDS, "hash"}:
                raise ValueError
        except ValueError:
            problems.append(
                f"Line {i} of the audit log is not an entry Hearth wrote: it was edited."
            )
            prev = hashlib.sha256(ln.encode()).hexdigest()
            hashes.append(prev)
            last_seq += 1
            continue
        if e["hash"] != entry_hash(e):
            problems.append(
                f"The audit log's {_describe(e)} was changed after it was written: its content "
                "no longer matches its hash."
            )
        elif e["seq"] != last_seq + 1:
            missing = e["seq"] - last_seq - 1
            what = (
                f"{missing} entr{'y was' if missing == 1 else 'ies were'} deleted before it"
                if missing > 0
                else "entries were moved or copied"
            )
            problems.append(f"The audit log's {_describe(e)} follows entry {last_seq}: {what}.")
        elif e["prev"] != prev:
            problems.append(
                f"The audit log's {_describe(e)} does not follow the entry before it: that entry "
                "was changed, or replaced."
            )
        last_seq = e["seq"] if isinstance(e["seq"], int) else last_seq + 1
        prev = e["hash"]
        hashes.append(e["hash"])
    n = len(lines)
    if head is None:
        if n:
            problems.append(
                f"The audit head ({head_path()}) is missing: the log cannot show that no "
                "entries were deleted from its end."
            )
    else:
        count, last = head.get("entries"), head.get("hash")
        if not isinstance(count, int) or not isinstance(last, str):
            problems.append(f"The audit head ({head_path()}) was edited: it is not Hearth's.")
        elif count > n:
            k = count - n
            where = " from its end" if not problems else ""
            problems.append(
                f"The audit head records {count} entries but the log holds {n}: {k} "
                f"entr{'y was' if k == 1 else 'ies were'} deleted{where}."
            )
        elif count < n:
            problems.append(
                f"The audit log holds {n} entries but its head records {count}: entries were "
                "added by hand, or a write was interrupted."
            )
        elif n and hashes[-1] != last:
            problems.append(
                "The newest audit entry does not match the head: the log's end was rewritten."
            )
    if expect:
        problems += _check_expected(expect, hashes)
    top = f"{n}:{hashes[-1]}" if hashes else None
    return Verification(n, top, problems)


def _check_expected(expect: str, hashes: list[str]) -> list[str]:
    try:
        k_text, want = expect.split(":", 1)
        k = int(k_text)
    except ValueError:
        return [f"--expect must be a head line as --verify prints it (N:HASH), not {expect!r}."]
    if k < 1 or k > len(hashes):
        return [f"The audit log no longer has entry {k}, which the head you kept names."]
    if hashes[k - 1] != want:
        return [f"Entry {k} is not the one the head you kept names: the log was rewritten since."]
    return []
