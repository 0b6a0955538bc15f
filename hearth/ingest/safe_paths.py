"""Names and links in the landing: a name is shown only made printable, and what a symbolic
link points at outside the landing is never read.

A landed file or folder name is the agency's (or anyone's who can write the landing): it can
hold an escape sequence that clears or rewrites the officer's terminal, a carriage return that
hides the start of a line, or a right-to-left override that shows `gpj.csv` as `vsc.jpg`.
`printable` is the one place such a name is made safe: every message, log line, table and
summary that names a landed file or folder takes it from `Extract.file_name`/`part_name` and
`Unread.path` (`hearth/ingest/landing.py`), which call it.

Whoever can write the landing can also leave a link in it. A link whose target, with every
link on the way resolved, lies outside the landing root (to the pseudonymisation key, to the
warehouse, to someone's home folder) is not read, hashed or loaded: it is named, with why, in
the landing inventory. A link to somewhere else inside the landing is followed as before. The
landing root itself may be a link (`/data/landing -> /mnt/sftp/landing`): it is resolved first."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from pathlib import Path

LINK_OUTSIDE = "it is a link to outside the landing. Land the file itself, not a link to it."


def _escaped(ch: str) -> str:
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def printable(name: str) -> str:
    """`name` with every control, format or separator character that is not a plain space
    (ESC, CR, LF, DEL, C1 controls, bidi overrides, zero-width characters, line separators)
    written as its escape, e.g. `\\x1b`: shown anywhere, it is only text."""
    return "".join(
        _escaped(ch)
        if unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
        else ch
        for ch in name
    )


def outside_landing(landing: Path, path: Path) -> bool:
    """Whether `path`, a link or a link below one, resolves to somewhere outside `landing`."""
    try:
        path.resolve().relative_to(landing.resolve())
    except ValueError:
        return True
    return False


def split_links(landing: Path, entries: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(the entries to look at, the links among them that point outside the landing), each
    sorted. Only links are checked: a plain entry of a folder inside the landing is inside."""
    keep: list[Path] = []
    away: list[Path] = []
    for p in sorted(entries):
        (away if p.is_symlink() and outside_landing(landing, p) else keep).append(p)
    return keep, away
