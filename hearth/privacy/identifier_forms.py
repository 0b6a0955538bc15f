"""One person, one pseudonym: the written forms of an identifier made one before it is hashed.

The same NHS number or UPRN reaches an agency's export in several forms. `hearth pseudonymise`
and `hearth reidentify` hash the same text for all of them:

- whitespace anywhere is removed: `943 476 5919` is `9434765919`;
- digits grouped by dashes (-, or a typographic dash) are joined: `943-476-5919`;
- a whole number written as a decimal, as pandas and Excel write a number column with a gap in
  it, loses its zero fraction: `9434765919.0`; a Parquet float column of whole numbers is read
  as those numbers;
- scientific notation (`1.00012E+11`, how Excel shows a 12-digit UPRN, and saves it to CSV) has
  lost the last digits: no one can tell which number it was, so it is refused, with a count;
- a value that is already a pseudonym (64 hex characters) is refused: hashed again it would
  match no one;
- a value that is none of these is hashed as it is (after whitespace is removed).

A value already in its plain form is unchanged, so its pseudonym is the one it always had.
What the contract column is a pseudonym of is checked too, and failures are counted, never
shown: a `person_pid` (or a column named like an NHS number) against the NHS number's
modulus-11 check digit, a `household_pid` (or a `uprn`) for a UPRN's 1 to 12 digits.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import polars as pl

from hearth.ingest.identifiers import nhs_number_valid

DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_GROUPED = re.compile(rf"[0-9]+(?:[{DASHES}][0-9]+)+")
_DASH = re.compile(rf"[{DASHES}]")
_WHOLE_DECIMAL = re.compile(r"([0-9]+)\.0+")
_SCIENTIFIC = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_UPRN = r"^[0-9]{1,12}$"
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")  # what pseudonymising makes (the contracts' pattern)
_NHS_NAME = re.compile(r"nhs", re.IGNORECASE)
_UPRN_NAME = re.compile(r"uprn", re.IGNORECASE)
# Past 2**53 a float no longer holds every whole number: its digits cannot be trusted.
_EXACT_FLOAT = 2**53


class IdentifierFormError(ValueError):
    """A column of identifiers that cannot be hashed as it is, in a sentence with counts."""


class MangledIdentifier(ValueError):
    """A value whose digits are lost (scientific notation): never hashed."""


def normalise(value: str | int | float | None) -> str | None:
    """The one form of an identifier that is hashed; None if nothing is left. Raises
    MangledIdentifier for scientific notation (the message names no value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= _EXACT_FLOAT:
            raise MangledIdentifier("a decimal number is not an identifier")
        value = int(value)
    text = "".join(str(value).split())
    if text.isdigit() and text.isascii():  # the plain form, most values: nothing to do
        return text
    if not text:
        return None
    if _SCIENTIFIC.fullmatch(text):
        raise MangledIdentifier("scientific notation")
    if _GROUPED.fullmatch(text):
        return _DASH.sub("", text)
    whole = _WHOLE_DECIMAL.fullmatch(text)
    return whole.group(1) if whole else text


def kind_of(column: str, target: str | None = None) -> str | None:
    """ "nhs_number" or "uprn": what a column holds, from the contract column it becomes
    (person_pid, household_pid) or else from its own name; None if neither."""
    if target == "person_pid" or (target is None and _NHS_NAME.search(column)):
        return "nhs_number"
    if target == "household_pid" or (target is None and _UPRN_NAME.search(column)):
        return "uprn"
    if target is not None:
        return kind_of(column)
    return None


@dataclass(frozen=True)
class Prepared:
    """A column's distinct values, their normalised forms, and what was found, as row counts."""

    raw: list[str]
    text: list[str | None]
    rows: int  # non-empty values
    reformatted: int = 0  # of those, written in another form and made one
    checks: dict[str, int] = field(default_factory=dict)  # failed check -> values

    def notes(self, column: str) -> list[str]:
        """Sentences for the analyst: counts only, never a value."""
        out = []
        if self.reformatted:
            out.append(
                f"Column '{column}': {self.reformatted:,} of {self.rows:,} values were written "
                "with spaces, dashes or a zero decimal part (.0) and were hashed without them, so "
                "they match the same person or household in other agencies' extracts."
            )
        for check, n in self.checks.items():
            out.append(f"Column '{column}': {n:,} of {self.rows:,} values {check}.")
        return out


def as_text(s: pl.Series, where: str) -> pl.Series:
    """A column of identifiers as text: whole numbers (integer or float) as their digits, NaN as
    empty; IdentifierFormError for any other type, or floats that are not whole numbers."""
    if s.dtype.is_float():
        s = s.fill_nan(None)
        values = s.drop_nulls()
        broken = int((values.round(0) != values).sum() + (values.abs() >= _EXACT_FLOAT).sum())
        if broken:
            raise IdentifierFormError(
                f"Column '{s.name}' in {where} holds {broken:,} decimal numbers that are not whole "
                "numbers (or too large to be exact); identifiers must be text or whole numbers. "
                "Nothing was written."
            )
        return s.cast(pl.Int64).cast(pl.String)
    if s.dtype.is_integer() or s.dtype in (pl.Categorical, pl.Enum, pl.Null):
        return s.cast(pl.String)
    if s.dtype != pl.String:
        raise IdentifierFormError(
            f"Column '{s.name}' in {where} holds {s.dtype} values; identifiers must be text or "
            "whole numbers. Nothing was written."
        )
    return s


def prepare(s: pl.Series, where: str, kind: str | None = None) -> Prepared:
    """Normalise a text column's distinct values (each once: identifiers repeat across events).
    IdentifierFormError, with the number of rows, if any value is in scientific notation."""
    counts = s.drop_nulls().value_counts(name="_n")
    raw = counts[s.name].to_list()
    n = counts["_n"].to_list()
    text: list[str | None] = []
    mangled = reformatted = hashed = 0
    for value, rows in zip(raw, n, strict=True):
        try:
            t = normalise(value)
        except MangledIdentifier:
            mangled += rows
            t = None
        reformatted += rows if t is not None and t != value.strip() else 0
        hashed += rows if t is not None and _PSEUDONYM.fullmatch(t) else 0
        text.append(t)
    if hashed:
        raise IdentifierFormError(
            f"Column '{s.name}' in {where}: {hashed:,} of {sum(n):,} values are already "
            "pseudonyms (64 hex characters); hashing them again would give pseudonyms that "
            "match no one in other agencies' extracts. Nothing was written. Use the identifiers "
            "as the agency holds them (the extract before it was pseudonymised)."
        )
    if mangled:
        raise IdentifierFormError(
            f"Column '{s.name}' in {where}: {mangled:,} of {sum(n):,} values are a number in "
            "scientific notation (such as 1.00012E+11, how Excel shows a long number), whose "
            "last digits are lost, so no one can tell which identifier it was. Nothing was "
            "written. Export the column as text from the source system (in Excel, format the "
            "column as Text before the numbers are entered or pasted) and run this again."
        )
    checks = _checks(text, n, kind) if kind else {}
    return Prepared(raw, text, sum(n), reformatted, checks)


def _checks(text: list[str | None], rows: list[int], kind: str) -> dict[str, int]:
    frame = pl.DataFrame({"v": text, "n": rows}, schema={"v": pl.String, "n": pl.Int64})
    frame = frame.filter(pl.col("v").is_not_null())
    if kind == "nhs_number":
        ok = nhs_number_valid(pl.col("v")) & pl.col("v").str.contains(r"^[0-9]+$")
        bad = int(frame.filter(~ok)["n"].sum())
        why = (
            "are not valid NHS numbers (10 digits whose last is the modulus-11 check digit): "
            "probably mistyped, so they will not link to the person in other agencies' "
            "extracts; they were pseudonymised as given. Check them in the source system"
        )
    else:
        bad = int(frame.filter(~pl.col("v").str.contains(_UPRN))["n"].sum())
        why = (
            "are not UPRNs (1 to 12 digits), so they will not link to a household in other "
            "agencies' extracts; they were pseudonymised as given. Check them in the source system"
        )
    return {why: bad} if bad else {}
