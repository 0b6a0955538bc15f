"""The shape a data contract declares for a column, and how many values do not have it.

A value may leave the agency (hearth pseudonymise) only when it has the shape of what its
column is declared to hold; anything else may be an identifier in the wrong column, so it is
counted, never shown. One function over the contract's column declaration (`Column`):

- a code list: a code of the list's alphabet and length (`DOB 14 May 1980` in a column of
  `DOMESTIC_ABUSE`, `ASB`... has lower-case letters and spaces; an unknown but well-formed
  code such as `ARSON` passes here and is quarantined by Hearth's ingest as `unknown_code`);
- a pattern (a pseudonym's 64 lowercase hex characters, a record id's `^PL-?[0-9]{6,9}$`, an
  ONS code): the pattern;
- a date: `yyyy-MM-dd`, the one format the contracts declare;
- an integer: digits, no more than its declared bounds have (a ten-digit NHS number is not a
  birth year); a Parquet float of a whole number (`1950.0`) counts as one;
- a number: a decimal number;
- text with no code list or pattern: no shape is declared, so no value may leave in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from hearth.quality.contract_model import Column

DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
NUMBER_SHAPE = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
PSEUDONYM = r"^[0-9a-f]{64}$"


@dataclass(frozen=True)
class Shape:
    rule: str  # e.g. "code_shape", "pattern", "date_format", "integer_shape", "no_declared_form"
    words: str  # what the column holds, for a sentence
    regex: str | None  # None: no value has the shape


def _kinds(chars: set[str]) -> str:
    kinds = []
    if any(c.isupper() for c in chars):
        kinds.append("capital letters")
    if any(c.islower() for c in chars):
        kinds.append("lower-case letters")
    if any(c.isdigit() for c in chars):
        kinds.append("digits")
    kinds += [f"'{c}'" for c in sorted(chars) if not c.isalnum()]
    return ", ".join(kinds[:-1]) + " and " + kinds[-1] if len(kinds) > 1 else kinds[0]


def declared_shape(column: Column) -> Shape:
    """The shape `column`'s declaration allows (see the module's docstring)."""
    if column.allowed_values:
        codes = [str(c) for c in column.allowed_values]
        chars = set("".join(codes))
        lo, hi = min(map(len, codes)), max(map(len, codes))
        alphabet = "".join(re.escape(c) for c in sorted(chars))
        return Shape(
            "code_shape",
            f"a code of its list ({_kinds(chars)}, {lo} to {hi} characters)",
            rf"^[{alphabet}]{{{lo},{hi}}}$",
        )
    if column.pattern:
        words = (
            "a pseudonym (64 lowercase hex characters)"
            if column.pattern == PSEUDONYM
            else f"values of the form {column.pattern}"
        )
        return Shape("pattern", words, column.pattern)
    if column.logical_type == "date":
        return Shape("date_format", "a date written yyyy-MM-dd", DATE_SHAPE)
    if column.logical_type == "integer":
        bounds = [b for b in (column.minimum, column.maximum) if b is not None]
        digits = max((len(str(abs(int(b)))) for b in bounds), default=18)
        return Shape(
            "integer_shape",
            f"a whole number of at most {digits} digits",
            rf"^-?[0-9]{{1,{digits}}}(\.0+)?$",
        )
    if column.logical_type == "number":
        return Shape("number_shape", "a number", NUMBER_SHAPE)
    return Shape("no_declared_form", "text of no declared form (no code list or pattern)", None)


def shape_faults(column: Column, values: pl.Series) -> int:
    """How many non-empty values are not of `column`'s declared shape (counted, never kept)."""
    text = values.cast(pl.String, strict=False).drop_nulls()
    shape = declared_shape(column)
    if shape.regex is None:
        return text.len()
    return int((~text.str.contains(shape.regex)).sum())
