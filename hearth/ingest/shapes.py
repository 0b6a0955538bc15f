"""The allowlist: what a received value must look like to be kept, column by column.

Hearth keeps a value it received (in the quarantine, a refusal, a log, an alert, the run
summary, Dagster metadata, any message) only when it has the shape its column is declared to
hold in the data contract. Anything else is withheld and described by its shape — its length
and the kinds of characters in it ("15 characters: capital letters, small letters, digits,
spaces") — never by its value. The rule is "keep what is declared safe", not "refuse what looks
identifying": a name, a date of birth in a coded column or a phone number in some form nobody
thought of is withheld because it is not a code, not because it was recognised.

A column's shape comes from its declaration:

- a code list: exactly one of the listed codes (an alphabet would let a surname in capitals,
  `SMITH`, through a column of capitals-and-underscores codes);
- a declared pattern (a pseudonym `^[0-9a-f]{64}$`, an agency's record id, an ONS code): a
  whole match of that pattern;
- a date: `YYYY-MM-DD` (the contracts' `yyyy-MM-dd`; `2025-02-30` keeps its shape and is
  quarantined as not a date, with its value);
- an integer or a number: digits (a sign, a decimal part for a number), no more digits than its
  declared bounds need, so a ten-digit NHS number in a birth-year column is withheld.

A column with none of these has no shape and nothing of it is ever kept; the contract loader
refuses such a column in a source's contract (`hearth/quality/contracts.py`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from hearth.sources import SOURCES

if TYPE_CHECKING:
    from hearth.quality.contract_model import Column, Contract

DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
PSEUDONYM = r"^[0-9a-f]{64}$"  # the pseudonym columns' declared pattern
DECIMALS = 6  # digits after the point a number may show


@dataclass(frozen=True)
class Shape:
    """What a kept value of one column looks like: `codes` (exactly one of them) or `regex`
    (a whole match); neither means nothing is kept. `declared` says it in words."""

    column: str
    declared: str
    regex: str | None = None
    codes: tuple[str, ...] | None = None

    @property
    def keeps_anything(self) -> bool:
        return bool(self.codes) or self.regex is not None

    def keeps(self, values: pl.Series) -> pl.Series:
        """Per value (text), whether it may be kept; a null is nothing to withhold."""
        v = values.cast(pl.String)
        if self.codes:
            ok = v.is_in(list(self.codes))
        elif self.regex is not None:
            ok = v.str.contains(self.regex)
        else:
            ok = pl.Series([False] * len(v))
        return (ok.fill_null(False) | v.is_null()).alias(self.column)

    def keeps_value(self, value: str | None) -> bool:
        if value is None:
            return True
        if self.codes:
            return value in self.codes
        return self.regex is not None and re.search(self.regex, value) is not None


def _anchored(pattern: str) -> str:
    """A declared pattern as a whole match (a contract's `HL-?[0-9]{6}` without anchors would
    otherwise keep any value that contains one)."""
    return f"^(?:{pattern.removeprefix('^').removesuffix('$')})$"


def _digits(*bounds: float | int | None) -> int | None:
    known = [b for b in bounds if b is not None]
    if len(known) < len(bounds) or not known:
        return None
    return max(len(str(abs(int(b)))) for b in known)


def column_shape(col: Column) -> Shape:
    """The shape a value of `col` must have to be kept (see the module's docstring)."""
    if col.allowed_values:
        return Shape(col.name, "one of the contract's codes", codes=tuple(col.allowed_values))
    if col.pattern:
        return Shape(col.name, f"text of the form {col.pattern}", regex=_anchored(col.pattern))
    if col.logical_type == "date":
        return Shape(col.name, "a date (YYYY-MM-DD)", regex=DATE_SHAPE)
    if col.logical_type in ("integer", "number"):
        digits = _digits(col.minimum, col.maximum)
        if digits is None:  # no bounds declared: no shape (the contract loader refuses it)
            return Shape(col.name, f"a {col.logical_type} with no declared bounds")
        sign = "-?" if col.minimum is not None and col.minimum < 0 else ""
        if col.logical_type == "integer":
            return Shape(col.name, "a whole number", regex=rf"^{sign}[0-9]{{1,{digits}}}$")
        regex = rf"^{sign}[0-9]{{1,{digits}}}(?:\.[0-9]{{1,{DECIMALS}}})?$"
        return Shape(col.name, "a number", regex=regex)
    return Shape(col.name, "text with no declared form")


def faults(col: Column, values: pl.Series) -> int:
    """How many non-empty values of `col` are not of its declared shape (counted, never kept).
    A float column of whole numbers (a Parquet integer column saved through pandas) is read as
    those numbers."""
    if values.dtype.is_float() and bool((values.drop_nulls() % 1 == 0).all()):
        values = values.cast(pl.Int64)
    return int((~column_shape(col).keeps(values.cast(pl.String))).sum())


def shapes(contract: Contract) -> dict[str, Shape]:
    return {c.name: column_shape(c) for c in contract.columns}


def undeclared(contract: Contract) -> list[str]:
    """Columns of `contract` that declare no shape (nothing of them could ever be kept)."""
    return [c for c, s in shapes(contract).items() if not s.keeps_anything]


# --- describing a value by its shape -----------------------------------------------------------

_PUNCTUATION = {
    " ": "spaces",
    "-": "dashes",
    "/": "slashes",
    ".": "dots",
    ",": "commas",
    "'": "apostrophes",
    "@": "at signs",
    "+": "plus signs",
    "(": "brackets",
    ")": "brackets",
    "_": "underscores",
    ":": "colons",
}
_ORDER = (
    "capital letters",
    "small letters",
    "other letters",
    "digits",
    *dict.fromkeys(_PUNCTUATION.values()),
    "other spaces",
    "control characters",
    "other symbols",
)


def _kind(ch: str) -> str:
    if "A" <= ch <= "Z":
        return "capital letters"
    if "a" <= ch <= "z":
        return "small letters"
    if "0" <= ch <= "9":
        return "digits"
    if ch in _PUNCTUATION:
        return _PUNCTUATION[ch]
    cat = unicodedata.category(ch)
    if cat.startswith("L"):
        return "other letters"
    if cat.startswith("Z"):
        return "other spaces"
    if cat.startswith("C"):
        return "control characters"
    return "other symbols"


def describe(value: str) -> str:
    """A value by its shape only: '15 characters: capital letters, digits, spaces'. Enough for
    the agency to find the row beside its row number; nothing of the value itself."""
    kinds = {_kind(ch) for ch in value}
    n = len(value)
    said = ", ".join(k for k in _ORDER if k in kinds)
    return f"{n} character{'s' if n != 1 else ''}: {said}" if n else "empty text"


def most_common_shape(values: pl.Series) -> str:
    """The commonest shape among `values` (text), e.g. for a column whose format changed."""
    present = values.cast(pl.String).drop_nulls()
    if present.len() == 0:
        return "no values"
    shapes_ = present.head(1000).map_elements(describe, return_dtype=pl.String)
    return str(shapes_.mode().sort()[0])


# --- names that may be values --------------------------------------------------------------------

# Words a column header is made of. A header is named in a message only when every word of it
# is one of these or a contract column's name: a file sent without its header row has values
# (a name, an NHS number, a token) where its header belongs, and those must not be printed.
# fmt: off
HEADER_WORDS = frozenset([
    "id", "ids", "ref", "reference", "no", "num", "number", "nhs", "uprn", "pid", "pids",
    "person", "household", "client", "patient", "case", "customer", "service", "user", "name",
    "names", "first", "last", "given", "family", "full", "fore", "sur", "surname", "forename",
    "middle", "initial", "initials", "title", "date", "dob", "birth", "day", "month", "year",
    "age", "sex", "gender", "address", "line", "street", "town", "city", "postcode", "post",
    "code", "zip", "area", "ward", "lsoa", "la", "email", "e", "mail", "phone", "telephone",
    "mobile", "tel", "contact", "record", "event", "type", "status", "category", "condition",
    "risk", "level", "key", "token", "hash", "hashed", "pseudonym", "of", "the", "and", "for",
    "to", "in", "on", "at", "local", "system", "source", "team", "agency", "extract", "notes",
    "note", "comment", "comments", "description", "value", "flag", "officer", "kind", "reason",
    "outcome", "detail", "details", "group", "ethnicity", "free", "text", "new", "old",
]) | {w for s in SOURCES.values() for c in s.columns for w in c.split("_")}
# fmt: on


def header_is_shown(name: str, known: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether a column header may be named in a message: a contract column's name, or words
    that headers are made of (see HEADER_WORDS), at most 40 plain characters."""
    if name in known:
        return True
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_ .-]{0,39}", name):
        return False
    words = [w for w in re.split(r"[ _.-]+", name.lower()) if w]
    return bool(words) and all(w in HEADER_WORDS or w in known for w in words)


def headers_described(names: list[str], known: set[str] | frozenset[str] = frozenset()) -> str:
    """A file's columns for a message: the headers that may be named, and the rest counted."""
    shown = [n for n in names if header_is_shown(n, known)]
    hidden = len(names) - len(shown)
    parts = [", ".join(shown)] if shown else []
    if hidden:
        parts.append(
            f"{hidden} more whose name{'s are' if hidden != 1 else ' is'} not shown (not a "
            "column name Hearth knows: it may be a value, from a file without its header row)"
        )
    return "; ".join(parts) if parts else "none"
