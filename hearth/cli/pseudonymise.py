"""`hearth pseudonymise`: pseudonymise identifier columns of an extract before it leaves an agency.

hearth/cli/app.py registers it as the `pseudonymise` command:

    hearth pseudonymise --key-file K --columns nhs_number,uprn IN.csv OUT.parquet

Without --key-file the key is read from HEARTH_PSEUDONYMISATION_KEY. The key is never printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from hearth.cli.console import console, fail
from hearth.privacy.pseudonymise import (
    KEY_ENV_VAR,
    PseudonymiseError,
    PseudonymiseResult,
    pseudonymise_file,
    read_key,
)


def parse_columns(columns: str | Sequence[str]) -> list[str]:
    """'a,b' or ['a', 'b'] or ['a,b'] to ['a', 'b']."""
    parts = [columns] if isinstance(columns, str) else list(columns)
    return [c.strip() for part in parts for c in part.split(",") if c.strip()]


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
        typer.Option("--columns", help="Comma-separated identifier columns, e.g. nhs_number,uprn."),
    ] = "",
    src: Annotated[Path | None, typer.Argument(help="Input extract, .csv or .parquet.")] = None,
    dst: Annotated[Path | None, typer.Argument(help="Output file, .csv or .parquet.")] = None,
) -> PseudonymiseResult:
    """Replace identifier columns by keyed pseudonyms (HMAC-SHA256); other columns untouched."""
    problem = None
    try:
        if src is None or dst is None:
            raise PseudonymiseError("Give an input file and an output file.")
        key = read_key(key_file)
        result = pseudonymise_file(key, parse_columns(columns), Path(src), Path(dst))
    except PseudonymiseError as e:
        problem = str(e)
    if problem is not None:  # outside the handler: the exit carries no trace of the error
        fail(problem)
    console.print(Text(result.summary(), style="green"), soft_wrap=True)
    return result
