"""Events to people to households, and how well each source links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb
import polars as pl

from hearth.linkage.model_store import ModelStore
from hearth.linkage.probabilistic import link_by_tokens
from hearth.sources import SOURCES, crisis_pattern
from hearth.warehouse import query, run_source_sql, run_sql

LINKED = ("linked_by_household_key", "linked_by_person_key", "linked_by_tokens")


def link(
    con: duckdb.DuckDBPyConnection,
    store: ModelStore | None = None,
    progress: Callable[[str], None] = lambda _: None,
    today: date | None = None,
) -> pl.DataFrame:
    """Rebuild residence, households and linked events in one transaction by exact keys
    (authoritative, probability 1), then link records without one by their tokens
    (hearth/linkage/probabilistic.py; its measures in `linkage_measures`). Return the linkage
    counts per source and extract month. `today`: the clock the linkage model's age is judged
    by (default the run's, hearth.settings.today)."""
    con.execute("BEGIN TRANSACTION")
    try:
        run_sql(con, "linkage/residence")
        run_sql(con, "linkage/events")
        for source in SOURCES.values():
            if source.kind == "event":
                params = {"source": source.name, "crisis": crisis_pattern()}
                run_source_sql(con, "linkage/source_events", source, params)
        run_sql(con, "linkage/linked_events")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    # splink runs its own statements, outside a transaction; its result is written in one
    link_by_tokens(con, store, progress, today)
    return query(con, "linkage/summary").pl()


def linkage_by_source(summary: pl.DataFrame) -> dict[str, dict[str, object]]:
    """Per source: events, linked, the rate, and unlinked counts by reason."""
    out: dict[str, dict[str, object]] = {}
    for source in summary["source"].unique().sort().to_list():
        part = summary.filter(pl.col("source") == source)
        by_status = dict(part.group_by("link_status").agg(pl.col("events").sum()).iter_rows())
        total = int(sum(by_status.values()))
        linked = int(sum(v for k, v in by_status.items() if k in LINKED))
        out[source] = {
            "events": total,
            "linked": linked,
            "linkage_rate": round(linked / total, 4) if total else None,
            "linked_by": {k: int(v) for k, v in by_status.items() if k in LINKED},
            "unlinked_by_reason": {k: int(v) for k, v in by_status.items() if k not in LINKED},
        }
    return out


def linkage_by_month(summary: pl.DataFrame) -> list[dict[str, object]]:
    """Per source and extract month: events, linked, rate, and unlinked counts by reason."""
    out = []
    for (source, month), part in summary.group_by(["source", "extract_month"], maintain_order=True):
        by_status = dict(zip(part["link_status"], part["events"], strict=True))
        total = int(sum(by_status.values()))
        linked = int(sum(v for k, v in by_status.items() if k in LINKED))
        out.append(
            {
                "source": source,
                "extract_month": month,
                "events": total,
                "linked": linked,
                "linkage_rate": round(linked / total, 4) if total else None,
                "unlinked_by_reason": {k: int(v) for k, v in by_status.items() if k not in LINKED},
            }
        )
    return sorted(out, key=lambda r: (r["source"], r["extract_month"]))
