"""`hearth pseudonymise`: pseudonymise identifier columns of an extract before it leaves an agency.

The main CLI wires it as a command, e.g. `app.command("pseudonymise")(pseudonymise_command)`:

    hearth pseudonymise --key-file K --columns nhs_number,uprn IN.csv OUT.parquet

Without --key-file the key is read from HEARTH_PSEUDONYMISATION_KEY. The key is never printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

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
    try:
        if src is None or dst is None:
            raise PseudonymiseError("Give an input file and an output file.")
        key = read_key(key_file)
        result = pseudonymise_file(key, parse_columns(columns), Path(src), Path(dst))
    except PseudonymiseError as e:
        Console(stderr=True).print(Text(f"Error: {e}", style="red"), soft_wrap=True)
        raise typer.Exit(2) from None
    Console().print(Text(result.summary(), style="green"), soft_wrap=True)
    return result
