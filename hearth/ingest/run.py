"""Ingest a range of months for one source, as one pipeline step does.

The landing is the truth and the warehouse follows it: a month that is no longer landed is
dropped from the warehouse (with its quarantine and any refusal), and when a month is loaded,
replaced or dropped, every later landed month of the source is judged again, because whether a
record is a late duplicate depends on the months before it. So re-landing any set of months
gives the same warehouse as loading the same landing into a fresh home."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from hearth.ingest.freshness import Freshness, assess
from hearth.ingest.landing import Extract, Inventory, Unread, discover, inventory
from hearth.ingest.load import IngestResult, clear_month, ingest_extract
from hearth.quality.contracts import load_contract
from hearth.sources import SOURCES
from hearth.warehouse import query, query_source, run_sql


@dataclass
class SourceReport:
    source: str
    results: list[IngestResult] = field(default_factory=list)
    missing_latest: str | None = None  # the expected month, when this source has no file for it
    freshness: Freshness | None = None
    accounting_errors: list[str] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)  # under landing/<source>/, not read
    gaps: list[str] = field(default_factory=list)  # months with no extract inside the history
    dropped: list[str] = field(default_factory=list)  # months no longer landed, removed
    rejudged: list[str] = field(default_factory=list)  # later months judged again

    def problems(self, rule: str) -> list[str]:
        return [r.message or "" for r in self.results if r.status == "refused" and r.rule == rule]

    @property
    def blocking_unread(self) -> list[Unread]:
        return [u for u in self.unread if u.blocking]

    def gap_sentence(self) -> str | None:
        if not self.gaps:
            return None
        months = ", ".join(self.gaps)
        return (
            f"{self.source}: no extract for {months}, inside the months it has sent; the "
            "records of a missing month are missing from the history."
        )


def landing_months(landing: Path) -> list[str]:
    found, _ = discover(landing)
    return sorted({e.month for e in found})


def _issues_frame(inv: Inventory) -> pl.DataFrame:
    rows = [
        {
            "path": u.path,
            "source": u.source,
            "extract_month": u.month,
            "kind": "unread",
            "why": u.why,
            "blocking": u.blocking,
        }
        for u in inv.unread
    ]
    for source in sorted({e.source for e in inv.extracts}):
        rows += [
            {
                "path": f"{source}/{m}/",
                "source": source,
                "extract_month": m,
                "kind": "gap",
                "why": "no extract for this month, inside the months the source has sent.",
                "blocking": False,
            }
            for m in inv.gaps(source)
        ]
    schema = {
        "path": pl.String,
        "source": pl.String,
        "extract_month": pl.String,
        "kind": pl.String,
        "why": pl.String,
        "blocking": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema)


def record_landing_issues(con: duckdb.DuckDBPyConnection, source: str, inv: Inventory) -> None:
    con.register("incoming_issues", _issues_frame(inv))
    try:
        run_sql(con, "ingest/landing_issues_replace", {"source": source})
    finally:
        con.unregister("incoming_issues")


def drop_unlanded(con: duckdb.DuckDBPyConnection, source: str, landed: set[str]) -> list[str]:
    """Remove from the warehouse every month of `source` that is no longer landed (its rows,
    quarantine, log and refusals), in one transaction. Returns the months removed."""
    held = [m for (m,) in query(con, "ingest/months_held", {"source": source}).fetchall()]
    gone = [m for m in held if m not in landed]
    if gone:
        con.execute("BEGIN TRANSACTION")
        try:
            for month in gone:
                clear_month(con, source, month)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return gone


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    source: str,
    months: list[str],
    volume_tolerance: float = 3.0,
    expected: str | None = None,
    inv: Inventory | None = None,
) -> SourceReport:
    """Load every month of `months` that has a file for this source, oldest first (so each
    month's volume is judged against the one before), then re-count every loaded month.

    Months no longer landed are dropped first; once a month changes, every later landed month
    is judged again (even outside `months`). `expected` is the month the run needs from every
    source (hearth/ingest/freshness.py; default the newest of `months`); the report says
    whether this source has sent it, and names what under its folder was not read."""
    contract = load_contract(source)
    inv = inv if inv is not None else inventory(landing)
    by_month: dict[str, Extract] = {e.month: e for e in inv.extracts if e.source == source}
    report = SourceReport(source, unread=inv.unread_for(source), gaps=inv.gaps(source))
    record_landing_issues(con, source, inv)
    report.dropped = drop_unlanded(con, source, set(by_month))
    changed_from = min(report.dropped) if report.dropped else None
    wanted = set(months)
    for month in sorted(by_month):
        again = changed_from is not None and month > changed_from
        if month not in wanted and not again:
            continue
        result = ingest_extract(con, contract, by_month[month], volume_tolerance, force=again)
        report.results.append(result)
        if month not in wanted:
            report.rejudged.append(month)
        if result.status == "loaded" and (changed_from is None or month < changed_from):
            changed_from = month
    expected = expected or (max(months) if months else None)
    if expected:
        report.freshness = assess(source, max(by_month) if by_month else None, expected)
        if report.freshness.stale:
            report.missing_latest = expected
    for src, month, received, accepted, held in query_source(
        con, "ingest/accounting", SOURCES[source], {"source": source}
    ).fetchall():
        if received != accepted + held:
            report.accounting_errors.append(
                f"{src} {month}: {received} rows received but {accepted} accepted and {held} "
                "quarantined are in the warehouse."
            )
    return report
