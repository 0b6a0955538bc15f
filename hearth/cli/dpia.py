"""`hearth dpia`: the data protection officer's evidence pack for the published list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hearth.cli.console import console, fail


def dpia_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for the pack (default: HEARTH_HOME/dpia/<as-of>, replaced)."
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the files in an existing --out folder.")
    ] = False,
) -> None:
    """Write the evidence pack for the current list: who sees what, retention, withheld
    values, suppression, the audit's verification, the model card, fairness and the value of
    sharing, as one page (index.html) and its CSVs."""
    from hearth.privacy.dpia import DpiaError, write_pack

    try:
        pack = write_pack(out, overwrite)
    except DpiaError as e:
        fail(str(e), 1)
    console.print(pack.summary, markup=False, highlight=False, soft_wrap=True)
    console.print(f"Evidence pack: {pack.folder / 'index.html'}", markup=False, highlight=False)
