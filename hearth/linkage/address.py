"""Records that carry an address but no name or date of birth (fire records an address, not
always matched to a UPRN): linked to the one household the person register places at the
same premise token (house number, street and postcode unit: a postcode mistyped into the next
unit then meets no one, rather than the same number in the next street). There is nothing for
splink to weigh beyond that one agreement, so the rule is exact, and its probability is how
often it was right on records that carry an exact key too (sql/linkage/address_links.sql)."""

from __future__ import annotations

from typing import Any

import duckdb

from hearth.sources import SOURCES
from hearth.warehouse import query, run_source_sql, run_sql


def address_sources() -> list:
    """Event sources that send a premise token but no name or date-of-birth token."""
    return [
        s
        for s in SOURCES.values()
        if s.kind == "event"
        and "premise_token" in s.tokens
        and not {"family_token", "given_token", "birth_token"} & set(s.tokens)
    ]


def link_by_address(
    con: duckdb.DuckDBPyConnection, version: str | None, floor: float
) -> dict[str, Any]:
    """Link the address-only records no exact key linked; per source what happened."""
    run_sql(con, "linkage/address_records")
    for s in address_sources():
        params = {"source": s.name, "token_version": version}
        run_source_sql(con, "linkage/source_address_records", s, params)
    con.execute("BEGIN TRANSACTION")  # the links land whole or not at all
    try:
        run_sql(con, "linkage/address_links", {"token_version": version, "floor": floor})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    out: dict[str, Any] = {}
    for r in query(con, "linkage/address_measures").pl().iter_rows(named=True):
        out[r["source"]] = {
            "needing_link": r["needing"],
            "linked": r["linked"],
            "linkage_rate": round(r["linked"] / r["needing"], 4) if r["needing"] else None,
            "labelled_records": r["labelled"] or 0,
            "precision_on_labelled": round(r["right_links"] / r["labelled"], 4)
            if r["labelled"]
            else None,
            "link_probability": None
            if r["link_probability"] is None
            else round(r["link_probability"], 4),
        }
    return out
