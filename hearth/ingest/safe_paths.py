"""Links in the landing: what a symbolic link points at outside the landing is never read.

Whoever can write the landing can also leave a link in it. A link whose target, with every
link on the way resolved, lies outside the landing root (to the pseudonymisation key, to the
warehouse, to someone's home folder) is not read, hashed or loaded: it is named, with why, in
the landing inventory. A link to somewhere else inside the landing is followed as before. The
landing root itself may be a link (`/data/landing -> /mnt/sftp/landing`): it is resolved first."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

LINK_OUTSIDE = "it is a link to outside the landing. Land the file itself, not a link to it."


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
