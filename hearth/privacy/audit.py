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

from hearth import settings
from hearth.atomic import write_text_atomically
from hearth.privacy import audit_sink
from hearth.privacy.access import login_uid, login_user, os_user

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "at",
    "action",
    "role",
    "user",  # the kernel's login user (or the effective user where none was recorded)
    "os_user",  # the account the process ran as
    "login_uid",  # /proc/self/loginuid, None when unset: where `user` came from
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


# Entries written before the user came from the kernel carried `sudo_user` instead.
LEGACY_FIELDS = tuple("sudo_user" if f == "login_uid" else f for f in FIELDS)


class AuditError(RuntimeError):
    """An entry could not be recorded (its sink refused it): a sentence; nothing was written."""


def sink() -> audit_sink.Sink | None:
    """The configured sink (the installer's roles file first, then the environment)."""
    from hearth.privacy.role_access import RoleError, audit_settings

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


# What the log and its head alone cannot show: whoever can write the folder can do each.
BLIND_SPOTS = (
    "the log and its head deleted, or emptied, together",
    "the newest entries cut off and the head rewritten to match",
    "an entry edited, deleted, moved or forged, and the chain and head rebuilt after it",
    "the log and its head replaced by an older copy",
)


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


def _describe(e: dict) -> str:
    role = f", role {e.get('role')}" if e.get("role") else ""
    return f"entry {e.get('seq')} ({str(e.get('at', '?'))[:19]}, {e.get('action')}{role})"


def _numbers(seqs: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5 and 9"."""
    runs: list[list[int]] = []
    for n in sorted(seqs):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    parts = [
        p
        for a, b in runs
        for p in ([str(a)] if a == b else [str(a), str(b)] if b == a + 1 else [f"{a}-{b}"])
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _entries_word(seqs: list[int]) -> str:
    return f"entr{'y' if len(seqs) == 1 else 'ies'} {_numbers(seqs)}"


def _check_chain(lines: list[str], head: dict | None) -> tuple[list[str], list[str]]:
    """Problems with the chain and head, and each line's hash (a damaged line's bytes')."""
    problems: list[str] = []
    hashes: list[str] = []
    prev, last_seq = GENESIS, 0
    shapes = ({*FIELDS, "hash"}, {*LEGACY_FIELDS, "hash"})
    for i, ln in enumerate(lines, start=1):
        try:
            e = json.loads(ln)
            if not isinstance(e, dict) or set(e) not in shapes:
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
            missing = e["seq"] - last_seq - 1 if isinstance(e["seq"], int) else 0
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
        hashes.append(entry_hash(e))  # of what it says now: an edit shows against the sink
    n = len(lines)
    if head is None:
        if n:
            problems.append(
                f"The audit head ({head_path()}) is missing: the log cannot show that no "
                "entries were deleted from its end."
            )
        return problems, hashes
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
    return problems, hashes


def _check_sink(hashes: list[str], copies: list[dict]) -> list[str]:
    """The log (each line's hash, in order) against the sink's copies of this home's entries:
    how many, each one's hash, the newest. Entries older than the sink's first copy (written
    before the sink was configured) are checked by their chain only."""
    by_seq: dict[int, list[dict]] = {}
    for c in copies:
        if isinstance(c.get("seq"), int) and isinstance(c.get("hash"), str):
            versions = by_seq.setdefault(c["seq"], [])
            if all(v["hash"] != c["hash"] for v in versions):
                versions.append(c)
    problems: list[str] = []
    twice = sorted(s for s, v in by_seq.items() if len(v) > 1)
    if twice:
        problems.append(
            f"The sink holds two different {_entries_word(twice)}: the log was rebuilt, and "
            "written on after."
        )
    if not by_seq:
        if hashes:
            problems.append(
                f"The log holds {len(hashes)} entries but the sink none for this home: they were "
                "forged, or written before the sink was configured."
            )
        return problems
    first, newest = min(by_seq), max(by_seq)
    missing, changed, extra = [], [], []
    for seq in range(first, max(newest, len(hashes)) + 1):
        local = hashes[seq - 1] if seq <= len(hashes) else None
        copy = by_seq.get(seq)
        if copy is None:
            if local is not None:
                extra.append(seq)
        elif local is None:
            missing.append(seq)
        elif all(v["hash"] != local for v in copy):
            changed.append(seq)
    local_n, held = max(len(hashes) - first + 1, 0), len(by_seq)
    if local_n != held:
        since = "" if first == 1 else f" from entry {first} on (the sink's first)"
        problems.append(f"The log holds {local_n} entries{since} and the sink {held}.")
    if missing:
        newest_copy = by_seq[missing[-1]][0]
        problems.append(
            f"The sink holds {_entries_word(missing)}, which the log does not (the newest: "
            f"{_describe(newest_copy)}): deleted from the log."
        )
    if changed:
        problems.append(
            f"The log's {_entries_word(changed)} "
            f"{'is not the one' if len(changed) == 1 else 'are not the ones'} the sink holds: "
            "edited, moved, or the chain rebuilt after an edit."
        )
    if extra:
        problems.append(
            f"The log's {_entries_word(extra)} never reached the sink: added by hand (forged), "
            "or written while no sink was configured."
        )
    if hashes and hashes[-1] not in {v["hash"] for v in by_seq[newest]}:
        problems.append(
            f"The log's newest entry ({len(hashes)}) is not the sink's newest "
            f"({_describe(by_seq[newest][0])})."
        )
    return problems


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
    problems, hashes = _check_chain(lines, head)
    if expect:
        problems += _check_expected(expect, hashes)
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
    result.problems += _check_sink(hashes, copies)
    return result


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
