"""Who may read a feature, from the data contracts: the part of an event code a role may read,
the columns a code is built from, and whether a feature's value follows from what a role may
read (`hearth/quality/contracts.py:may_read`, the one answer to "may role R read column C of
source S"). The catalogue (`catalogue.py`) derives every feature's roles with these."""

from __future__ import annotations

from dataclasses import dataclass

from hearth.quality.contracts import may_read
from hearth.sources import SOURCES, event_code_parts


def code_part(code: str, role: str) -> str | None:
    """The part of an event code `role` may read: the code itself when it may read every
    column the code is written from, a shorter start when it may read only the first ones
    ("police:DOMESTIC_ABUSE" of "police:DOMESTIC_ABUSE:HIGH" for a commissioner, who may not
    read risk levels), the source alone when it may read only the record's date, and None
    when it may not know of the record at all (fire, of a health record)."""
    source, parts = event_code_parts(code)
    if not may_read(role, source, SOURCES[source].date_column):
        return None
    kept = [source]
    for column, value in parts:
        if not may_read(role, source, column):
            break
        kept.append(value)
    return ":".join(kept)


def code_columns(code: str) -> tuple[tuple[str, str], ...]:
    """The (source, column) an event code is built from: its source's date and each column
    its parts are written from."""
    source, parts = event_code_parts(code)
    return ((source, SOURCES[source].date_column), *((source, c) for c, _ in parts))


def link_columns(source: str) -> tuple[tuple[str, str], ...]:
    """The (source, column) how surely a record of `source` was linked follows from: its
    pseudonym key columns (a record with a known one links for certain) and its linkage tokens
    (names, dates of birth, postcodes, hashed), as its contract marks them (linkKey,
    linkageToken)."""
    s = SOURCES[source]
    keys = tuple(c for c in (s.person_key, s.household_key) if c)
    return tuple((source, c) for c in (*keys, *s.tokens))


def reads_whole(
    codes: set[str],
    columns: set[tuple[str, str]],
    role: str,
    parts: dict[tuple[str, str], str | None],
) -> bool:
    """Whether a feature built from these event `codes` and other `columns` follows from what
    `role` may read: each column readable, and each code either readable in full or counted
    with every code that reads the same to the role (`parts`: `code_part` of every catalogue
    code and role)."""
    if not all(may_read(role, s, c) for s, c in columns):
        return False
    for code in codes:
        part = parts[(code, role)]
        if part is None:
            return False
        same = {c for (c, r), p in parts.items() if r == role and p == part}
        if part != code and not same <= codes:
            return False
    return True


def agree(where: str, written: list | None, derived: tuple[str, ...]) -> None:
    """A `roles:` list written in the catalogue must say what the contracts say."""
    if written is not None and set(written) != set(derived):
        raise ValueError(
            f"sql/features/catalogue.yaml: {where} says roles {sorted(written)}, but the data "
            f"contracts let {sorted(derived) or 'no role'} read every column it is built from; "
            "the contracts decide who sees what, so remove the list or change the contract."
        )


@dataclass(frozen=True)
class Kind:
    """A kind of record as one role reads it: one event feature in its own words, or, for a
    role that may read only the first part of its codes, every event feature of that part in
    the catalogue's coarse words (`members` are added up)."""

    key: str  # the event feature's key, or the code part read ("police:DOMESTIC_ABUSE")
    members: tuple[str, ...]  # event feature keys counted together
    one: str
    many: str
