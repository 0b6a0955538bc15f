"""The audit log's chain and what checks it: each entry's canonical hash, the chain and head
as the log holds them, and the log against the sink's copies (hearth/privacy/audit.py writes
and verifies; hearth/privacy/audit_sink.py sends and reads the copies). Plain functions of
what was read, so each finding is a sentence that names entries, never their content."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

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


def canonical(entry: dict) -> bytes:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


# Entries written before the user came from the kernel carried `sudo_user` instead.
LEGACY_FIELDS = tuple("sudo_user" if f == "login_uid" else f for f in FIELDS)


# What the log and its head alone cannot show: whoever can write the folder can do each.
BLIND_SPOTS = (
    "the log and its head deleted, or emptied, together",
    "the newest entries cut off and the head rewritten to match",
    "an entry edited, deleted, moved or forged, and the chain and head rebuilt after it",
    "the log and its head replaced by an older copy",
)


def describe(e: dict) -> str:
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


def check_chain(
    lines: list[str], head: dict | None, head_file: Path
) -> tuple[list[str], list[str]]:
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
                f"The audit log's {describe(e)} was changed after it was written: its content "
                "no longer matches its hash."
            )
        elif e["seq"] != last_seq + 1:
            missing = e["seq"] - last_seq - 1 if isinstance(e["seq"], int) else 0
            what = (
                f"{missing} entr{'y was' if missing == 1 else 'ies were'} deleted before it"
                if missing > 0
                else "entries were moved or copied"
            )
            problems.append(f"The audit log's {describe(e)} follows entry {last_seq}: {what}.")
        elif e["prev"] != prev:
            problems.append(
                f"The audit log's {describe(e)} does not follow the entry before it: that entry "
                "was changed, or replaced."
            )
        last_seq = e["seq"] if isinstance(e["seq"], int) else last_seq + 1
        prev = e["hash"]
        hashes.append(entry_hash(e))  # of what it says now: an edit shows against the sink
    n = len(lines)
    if head is None:
        if n:
            problems.append(
                f"The audit head ({head_file}) is missing: the log cannot show that no "
                "entries were deleted from its end."
            )
        return problems, hashes
    count, last = head.get("entries"), head.get("hash")
    if not isinstance(count, int) or not isinstance(last, str):
        problems.append(f"The audit head ({head_file}) was edited: it is not Hearth's.")
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


def check_sink(hashes: list[str], copies: list[dict]) -> list[str]:
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
            f"{describe(newest_copy)}): deleted from the log."
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
            f"({describe(by_seq[newest][0])})."
        )
    return problems


def check_expected(expect: str, hashes: list[str]) -> list[str]:
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
