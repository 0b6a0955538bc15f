"""Ingest a range of months for one source, as one pipeline step does."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from hearth.contracts import load_contract
from hearth.ingest.files import Extract, discover
from hearth.ingest.freshness import Freshness, assess
from hearth.ingest.load import IngestResult, ingest_extract
from hearth.warehouse import query


@dataclass
class SourceReport:
    source: str
    results: list[IngestResult] = field(default_factory=list)
    missing_latest: str | None = None  # the expected month, when this source has no file for it
    freshness: Freshness | None = None
    accounting_errors: list[str] = field(default_factory=list)

    def problems(self, rule: str) -> list[str]:
        return [r.message or "" for r in self.results if r.status == "refused" and r.rule == rule]


def landing_months(landing: Path) -> list[str]:
    found, _ = discover(landing)
    return sorted({e.month for e in found})


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    source: str,
    months: list[str],
    volume_tolerance: float = 3.0,
    expected: str | None = None,
) -> SourceReport:
    """Load every month of `months` that has a file for this source, oldest first (so each
    month's volume is judged against the one before), then re-count every loaded month.

    `expected` is the month the run needs from every source (hearth/ingest/freshness.py;
    default the newest of `months`); the report says whether this source has sent it."""
    contract = load_contract(source)
    found, _ = discover(landing)
    by_month: dict[str, Extract] = {e.month: e for e in found if e.source == source}
    report = SourceReport(source)
    for month in sorted(months):
        ex = by_month.get(month)
        if ex is not None:
            report.results.append(ingest_extract(con, contract, ex, volume_tolerance))
    expected = expected or (max(months) if months else None)
    if expected:
        report.freshness = assess(source, max(by_month) if by_month else None, expected)
        if report.freshness.stale:
            report.missing_latest = expected
    for src, month, received, accepted, held in query(
        con, "ingest/accounting", {"source": source}
    ).fetchall():
        if received != accepted + held:
            report.accounting_errors.append(
                f"{src} {month}: {received} rows received but {accepted} accepted and {held} "
                "quarantined are in the warehouse."
            )
    return report
