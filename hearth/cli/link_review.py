"""`hearth reidentify-links`: an officer reviews a listed household's uncertain links, audited
(hearth/privacy/link_review.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hearth.cli.console import console, fail
from hearth.privacy.link_review import uncertain_links
from hearth.privacy.reidentify import ReidentifyError
from hearth.quality.contracts import ROLES


def reidentify_links_command(
    role: Annotated[str, typer.Option("--role", help="Role: " + " | ".join(ROLES) + ".")],
    rank: Annotated[
        int | None, typer.Option("--rank", min=1, help="The household's rank on the list.")
    ] = None,
    household: Annotated[
        str | None,
        typer.Option("--household", help="Or its pseudonym (household_pid on the list)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Published month, YYYY-MM (default: latest).")
    ] = None,
) -> None:
    """At an agency: list one ranked household's records that were linked to it with less than
    high confidence (record id, date, link probability), from the sources your role may review,
    to check them in your own system. Every use is audited."""
    if role not in ROLES:
        fail(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    try:
        r = uncertain_links(role, household=household, rank=rank, as_of=as_of)
    except ReidentifyError as e:
        fail(str(e))
    except Exception as e:  # e.g. the warehouse is busy: no detail that could leak
        fail(f"The review stopped ({type(e).__name__}); nothing was shown. Try again later.")
    where = ", ".join(r.sources)
    if r.links.is_empty():
        console.print(
            f"The household ranked {r.rank:,} (list of {r.as_of}) has no {where} record linked "
            f"with less than high confidence (below {r.high:g}).",
            highlight=False,
        )
        return
    table = Table(
        title=f"Household ranked {r.rank:,} (list of {r.as_of}): {r.links.height:,} records "
        f"linked with less than high confidence (below {r.high:g}), {r.role} view"
    )
    for col in ("source", "record id", "date", "link probability"):
        table.add_column(col, justify="right" if col == "link probability" else "left")
    for source, record_id, when, p in r.links.iter_rows():
        table.add_row(source, str(record_id), str(when), f"{p:.2f}")
    console.print(table)
    console.print(
        "Check each against your own system; a record that is not this household's is worth "
        "telling the partnership's analysts (the linkage is re-estimated). This review is in "
        "the audit log (hearth audit).",
        highlight=False,
    )
