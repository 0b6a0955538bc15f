"""Retention as a data protection officer reads it (hearth dpia, docs/data-protection.md): per
source, the oldest record held against its contract's limit, and what the last run deleted.
Applying retention is hearth/quality/retention.py."""

from __future__ import annotations

from datetime import date

import duckdb

from hearth.quality.retention import limits
from hearth.sources import SOURCES
from hearth.warehouse import query, query_source

# ---- what a DPO reads ----------------------------------------------------------------------


def retention_status(con: duckdb.DuckDBPyConnection, today: date | None = None) -> list[dict]:
    """Per source: its retention, the first day kept, the oldest record held (by the date its
    retention counts from), whether that is within the limit, and the oldest quarantined month."""
    by_source = limits(today)
    held = {}
    for name, src in SOURCES.items():
        status = (
            "retention_status_events"
            if src.dated
            else "retention_status_persons"
            if src.register_of == "person"
            else "retention_status_register"
        )
        held[name] = query_source(con, f"quality/{status}", src).fetchall()[0]
    quarantined = {
        r[0]: (r[1], r[2]) for r in query(con, "quality/retention_quarantine_oldest").fetchall()
    }
    out = []
    for source in SOURCES:
        lim = by_source[source]
        oldest, rows = held.get(source, (None, 0))
        q_month, q_rows = quarantined.get(source, (None, 0))
        within = (oldest is None or oldest >= lim.cutoff) and (
            q_month is None or q_month >= lim.cutoff_month
        )
        out.append(
            {
                "source": source,
                "retention_months": lim.months,
                "contract_retention_months": lim.contract_months,
                "counted_from": lim.element,
                "kept_from": lim.cutoff.isoformat(),
                "rows_held": rows,
                "oldest_record": oldest.isoformat() if oldest else "",
                "quarantined_rows": q_rows,
                "oldest_quarantined_month": q_month or "",
                "within_retention": within,
            }
        )
    return out
