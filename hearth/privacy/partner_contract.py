"""The partner's output, shaped by the data contract: which contract, which columns, and
whether every kept value has the shape the contract declares for its column.

`hearth pseudonymise` (hearth/privacy/pseudonymise.py) writes only the columns of the source's
contract: a column the contract does not hold is dropped and named (by position only when its
name looks like a value: a file sent without its header); a pseudonym may be written only
under one of the contract's pseudonym columns; and a value of a kept column not of its
declared shape (the ingest's own allowlist, hearth/ingest/shapes.py) refuses the whole
output, naming the column, the rule and how many values, never a value. With no source named,
the file's columns must be exactly one contract's. (Issue 25's keyed-hash tokens of
quasi-identifiers will be more contract columns, of their own declared shape: the contract
keeps deciding what is written.)"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from hearth.ingest.shapes import PSEUDONYM, column_shape, faults
from hearth.privacy.tokens import TOKEN_PATTERNS
from hearth.quality.contract_model import Contract, ContractError
from hearth.quality.contracts import load_all, load_contract
from hearth.sources import SOURCES


class ContractOutputError(ValueError):
    """The output would not follow the contract: a sentence; nothing was written."""


# A column name that is a plain word may be shown; anything else (digits, a date, a hex
# string) may be a value - a file sent without its header - and is named by position only.
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_ ]{0,39}")


def shown(name: str, position: int) -> str:
    """How a message names one of the input file's columns."""
    if _PLAIN_NAME.fullmatch(name):
        return name
    return f"column {position + 1} (its name is not shown: it looks like a value)"


def output_contract(source: str | Contract | None, names_out: list[str]) -> Contract:
    """The contract the output follows: the one named, or the one whose columns the file has
    exactly (after renaming); otherwise a refusal, since nothing may leave undeclared."""

    if isinstance(source, Contract):
        return source
    try:
        if source is not None:
            return load_contract(source)
        contracts = load_all()
    except ContractError as e:
        raise ContractOutputError(f"{e}. Nothing was written.") from None
    # exactly a contract's columns, its optional token columns (issue 25) sent or not
    exact = [
        c
        for c in contracts.values()
        if set(c.column_names) - set(token_columns(c)) <= set(names_out) <= set(c.column_names)
    ]
    if len(exact) == 1:
        return exact[0]
    # to name in the hint: of the contracts whose required columns the file has, the one
    # sharing the most columns with it, if one does
    have = set(names_out)
    fits = sorted(
        (
            (len(set(c.column_names) & have), s)
            for s, c in contracts.items()
            if set(c.required_columns) <= have
        ),
        reverse=True,
    )
    best = fits[0][1] if fits and (len(fits) == 1 or fits[0][0] > fits[1][0]) else None
    hint = (
        f" It has the columns the {best} contract requires: give --source {best}." if best else ""
    )
    raise ContractOutputError(
        "Give --source (one of "
        + ", ".join(SOURCES)
        + "): without it, pseudonymise writes a file only when its columns, after --columns, "
        "are exactly those of one data contract, and this file's are not, so a column no "
        f"contract declares could have been passed on.{hint} Nothing was written."
    )


def token_columns(contract: Contract) -> tuple[str, ...]:
    """The contract's keyed-hash token columns (hearth/privacy/tokens.py), by their form."""
    return tuple(c.name for c in contract.columns if c.pattern in TOKEN_PATTERNS)


def check_contract_columns(
    contract: Contract, renames: Mapping[str, str], present: list[str]
) -> None:
    pids = [c.name for c in contract.columns if c.pattern == PSEUDONYM]
    where = f"the {contract.source} contract"
    for old, new in renames.items():
        if new not in contract.column_names:
            raise ContractOutputError(
                f"'{new}' (from --columns {old}:{new}) is not a column of {where}, whose "
                f"pseudonym columns are {', '.join(pids) or 'none'}. Nothing was written."
            )
        if new not in pids:
            raise ContractOutputError(
                f"'{new}' (from --columns {old}:{new}) is not a pseudonym column of {where}: "
                f"it holds {column_shape(contract.column(new)).declared}. Pseudonyms go in "
                f"{', '.join(pids) or 'none of its columns'}. Nothing was written."
            )
    names_out = {renames.get(c, c) for c in present}
    missing = [c.name for c in contract.columns if c.name not in names_out and c.required]
    if missing:
        raise ContractOutputError(
            f"The file lacks {len(missing)} column{'s' if len(missing) != 1 else ''} of {where} "
            f"(after --columns) that it requires: {', '.join(missing)}. Export them under these "
            "names. Nothing was written."
        )


def refuse_unshaped(contract: Contract, df: pl.DataFrame, hashed: set[str], src: Path) -> None:
    """Refuse the whole output if a kept column holds values not of its declared shape."""
    found = []
    for column in contract.columns:
        if column.name in hashed or column.name not in df.columns:
            continue
        n = faults(column, df[column.name])
        if n:
            found.append(
                f"column '{column.name}' holds {n:,} value{'s' if n != 1 else ''} not of its "
                f"declared shape ({column_shape(column).declared})"
            )
    if found:
        raise ContractOutputError(
            f"{src} was not pseudonymised: "
            + "; ".join(found)
            + f". A value the {contract.source} contract does not declare may be an identifier "
            "in the wrong column, and nothing identifying may leave the agency: correct those "
            "rows in the source system (or leave the cells empty) and run again. Nothing was "
            "written."
        )


def absent_optional(contract: Contract, columns: list[str]) -> tuple[list[str], list[str]]:
    """The contract's columns the output lacks (all optional by now: a required one was
    refused), and a note for each: it is sent empty. Token columns are written only when
    tokens were made (then all of them): an extract without tokens simply lacks them."""
    pids = {c.name for c in contract.columns if c.pattern == PSEUDONYM}
    tokens = token_columns(contract)
    made = any(c in columns for c in tokens)
    absent = [c for c in contract.column_names if c not in columns and (made or c not in tokens)]
    notes = [
        f"The file has no column '{c}', which the {contract.source} contract allows to be "
        "empty: it was written empty"
        + (
            f" (if the file holds its identifier, map it: --columns <column>:{c})"
            if c in pids
            else ""
        )
        + "."
        for c in absent
        if c not in tokens  # the kinds not asked for: --tokens said which were made
    ]
    return absent, notes
