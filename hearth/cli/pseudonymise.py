"""`hearth pseudonymise`: pseudonymise identifier columns of an extract before it leaves an agency.

hearth/cli/app.py registers it as the `pseudonymise` command:

    hearth pseudonymise --source police --key-file K \
        --columns nhs_number:person_pid,uprn:household_pid IN OUT

Each column is written under the name after its colon: the data contract's (person_pid for an NHS
number, household_pid for a UPRN), which Hearth accepts. Only the columns of the source's contract
are written; the others are dropped and named. Without --source the file's columns (after
--columns) must be exactly one contract's. Without --key-file the key is read from
HEARTH_PSEUDONYMISATION_KEY. The key is never printed; an existing output is replaced only with
--overwrite (or when confirmed at a terminal).

Where the agency records names, a date of birth or an address instead of (or beside) the
identifiers, --tokens makes keyed-hash tokens of them under the separate linkage key
(--linkage-key-file or HEARTH_LINKAGE_KEY; hearth/privacy/tokens.py):

    hearth pseudonymise --source police --key-file K --linkage-key-file L \
        --tokens first_name:forename,last_name:surname,dob:date_of_birth,postcode:postcode \
        --columns uprn:household_pid IN OUT
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from hearth.cli.console import console, err, fail
from hearth.privacy.pseudonymise import (
    KEY_ENV_VAR,
    LINKAGE_KEY_ENV_VAR,
    PseudonymiseError,
    PseudonymiseResult,
    pseudonymise_file,
    read_key,
)


def parse_columns(columns: str | Sequence[str]) -> list[str]:
    """'a,b' or ['a', 'b'] or ['a,b'] to ['a', 'b']."""
    parts = [columns] if isinstance(columns, str) else list(columns)
    return [c.strip() for part in parts for c in part.split(",") if c.strip()]


def parse_renames(columns: str | Sequence[str]) -> dict[str, str]:
    """'nhs_number:person_pid,ref' to {'nhs_number': 'person_pid', 'ref': 'ref'}."""
    out: dict[str, str] = {}
    for item in parse_columns(columns):
        old, colon, new = (p.strip() for p in item.partition(":"))
        if not old or (colon and not new) or ":" in new:
            raise PseudonymiseError(
                f"'{item}' in --columns is not a column or column:new_name "
                "(e.g. nhs_number:person_pid)."
            )
        if old in out:
            raise PseudonymiseError(f"Column '{old}' is named more than once.")
        out[old] = new or old
    return out


def parse_tokens(tokens: str | Sequence[str]) -> dict[str, str]:
    """'first_name:forename,dob:date_of_birth' to {'first_name': 'forename', 'dob': ...}."""
    out: dict[str, str] = {}
    for item in parse_columns(tokens):
        old, colon, kind = (p.strip() for p in item.partition(":"))
        if not old or not colon or not kind or ":" in kind:
            raise PseudonymiseError(
                f"'{item}' in --tokens is not column:kind (e.g. first_name:forename); the kinds "
                "are forename, surname, date_of_birth, postcode and address."
            )
        if old in out:
            raise PseudonymiseError(f"Column '{old}' is named more than once in --tokens.")
        out[old] = kind
    return out


def pseudonymise_command(
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help=f"File holding the shared key (default: the {KEY_ENV_VAR} variable).",
        ),
    ] = None,
    columns: Annotated[
        str,
        typer.Option(
            "--columns",
            help="Comma-separated identifier columns, each as column:contract_name, e.g. "
            "nhs_number:person_pid,uprn:household_pid (the names Hearth's data contracts expect).",
        ),
    ] = "",
    src: Annotated[Path | None, typer.Argument(help="Input extract, .csv or .parquet.")] = None,
    dst: Annotated[Path | None, typer.Argument(help="Output file, .csv or .parquet.")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the output file if it exists.")
    ] = False,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="The source whose data contract the output follows (addresses, people, "
            "social_care, health, fire, police): only its columns are written. Without it, the "
            "file's columns (after --columns) must be exactly one contract's.",
        ),
    ] = None,
    tokens: Annotated[
        str,
        typer.Option(
            "--tokens",
            help="Comma-separated quasi-identifier columns to make keyed-hash tokens of, each as "
            "column:kind, the kinds being forename, surname, date_of_birth, postcode and address "
            "(the address line's house number and street, with the postcode). Needs the linkage "
            "key.",
        ),
    ] = "",
    linkage_key_file: Annotated[
        Path | None,
        typer.Option(
            "--linkage-key-file",
            help=f"File holding the linkage key for --tokens, not the pseudonymisation key "
            f"(default: the {LINKAGE_KEY_ENV_VAR} variable).",
        ),
    ] = None,
) -> PseudonymiseResult:
    """Replace identifier columns by keyed pseudonyms (HMAC-SHA256) under the data contract's
    names, and write only the columns of the source's data contract (the others are dropped
    and named; a value not of its column's declared shape refuses the whole output)."""
    problem = None
    try:
        if src is None or dst is None:
            raise PseudonymiseError("Give an input file and an output file.")
        renames = parse_renames(columns)
        if Path(dst).exists() and not overwrite and sys.stdin.isatty():
            overwrite = typer.confirm(f"{dst} already exists. Replace it?", default=False)
        token_columns = parse_tokens(tokens)
        key = read_key(key_file)
        linkage_key = (
            read_key(linkage_key_file, LINKAGE_KEY_ENV_VAR, "--linkage-key-file")
            if token_columns
            else None
        )
        result = pseudonymise_file(
            key,
            renames,
            Path(src),
            Path(dst),
            overwrite=overwrite,
            source=source,
            tokens=token_columns,
            linkage_key=linkage_key,
        )
    except PseudonymiseError as e:
        problem = str(e)
    if problem is not None:  # outside the handler: the exit carries no trace of the error
        fail(problem)
    console.print(Text(result.summary(), style="green"), soft_wrap=True)
    for note in result.notes:
        err.print(Text(f"Note: {note}", style="yellow"), soft_wrap=True)
    return result
