"""Ingest a range of months for one source, as one pipeline step does.

The warehouse follows the landing, but never loses accepted records without an officer's word:
a month that is no longer landed, or a new copy that would leave far fewer accepted rows, is a
removal (hearth/ingest/removals.py), kept as it was and listed until it is accepted. When a month
is loaded, replaced or removed, every later landed month of the source is judged again, because
whether a record is a late duplicate depends on the months before it. So re-landing any set of
months, with its removals accepted, gives the same warehouse as loading the same landing into a
fresh home."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from hearth.ingest.freshness import Freshness, assess
from hearth.ingest.landing import Extract, Inventory, Unread, discover, inventory
from hearth.ingest.load import IngestResult, ingest_extract
from hearth.ingest.removals import (
    NOT_LANDED,
    Removal,
    held_copies,
    not_landed,
    record_pending,
    refusals_not_landed,
    remove_months,
)
from hearth.quality.contracts import load_contract
from hearth.sources import SOURCES
from hearth.warehouse import query_source, run_sql


@dataclass
class SourceReport:
    source: str
    results: list[IngestResult] = field(default_factory=list)
    missing_latest: str | None = None  # the expected month, when this source has no file for it
    freshness: Freshness | None = None
    accounting_errors: list[str] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)  # under landing/<source>/, not read
    gaps: list[str] = field(default_factory=list)  # months with no extract inside the history
    dropped: list[str] = field(default_factory=list)  # months removed (accepted, or refusals)
    rejudged: list[str] = field(default_factory=list)  # later months judged again
    removals: list[Removal] = field(default_factory=list)  # every removal the landing implies
    removed: list[Removal] = field(default_factory=list)  # those accepted and applied
    unmatched: list[str] = field(default_factory=list)  # accepted keys the landing no longer fits
    newest_held: str | None = None  # the newest month the warehouse holds for this source

    @property
    def withheld(self) -> list[Removal]:
        """Removals found and not accepted: kept as they were, listed for an officer."""
        done = {r.key for r in self.removed}
        return [r for r in self.removals if r.key not in done]

    @property
    def not_landed_kept(self) -> list[Removal]:
        return [r for r in self.withheld if r.kind == NOT_LANDED]

    @property
    def shrinks_held(self) -> list[Removal]:
        return [r for r in self.withheld if r.kind != NOT_LANDED]

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


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    source: str,
    months: list[str],
    volume_tolerance: float | None = None,
    expected: str | None = None,
    inv: Inventory | None = None,
    accepted_removals: frozenset[str] | set[str] = frozenset(),
) -> SourceReport:
    """Load every month of `months` that has a file for this source, oldest first (so each
    month's volume is judged against the one before), then re-count every loaded month.

    Months no longer landed are removals: kept, and listed in the report (and the warehouse's
    `removals_pending`), unless their key is in `accepted_removals`, when they are removed
    first; so is a new copy that would shrink a month. An accepted key that no longer fits the
    landing is named in `unmatched` (the landing changed since the list was shown). Once a
    month changes, every later landed month is judged again (even outside `months`).

    `expected` is the month the run needs from every source (hearth/ingest/freshness.py;
    default the newest of `months`); the report says whether this source has sent it (a month
    kept though no longer landed counts), and names what under its folder was not read."""
    contract = load_contract(source)
    inv = inv if inv is not None else inventory(landing)
    by_month: dict[str, Extract] = {e.month: e for e in inv.extracts if e.source == source}
    report = SourceReport(source, unread=inv.unread_for(source), gaps=inv.gaps(source))
    record_landing_issues(con, source, inv)
    mine = frozenset(k for k in accepted_removals if k.split(":", 1)[0] == source)
    report.removals = not_landed(con, source, inv)
    report.removed = [r for r in report.removals if r.key in mine]
    report.dropped = sorted(
        [r.month for r in report.removed] + refusals_not_landed(con, source, inv)
    )
    remove_months(con, source, report.dropped)
    changed_from = min(report.dropped) if report.dropped else None
    wanted = set(months)
    for month in sorted(by_month):
        again = changed_from is not None and month > changed_from
        if month not in wanted and not again:
            continue
        result = ingest_extract(
            con, contract, by_month[month], volume_tolerance, force=again, accepted_removals=mine
        )
        report.results.append(result)
        if result.removal is not None:
            report.removals.append(result.removal)
            if result.status == "loaded":
                report.removed.append(result.removal)
        if month not in wanted:
            report.rejudged.append(month)
        if result.status == "loaded" and (changed_from is None or month < changed_from):
            changed_from = month
    report.unmatched = sorted(mine - {r.key for r in report.removals})
    record_pending(con, source, report.removals)
    kept = set(held_copies(con, source))
    report.newest_held = max(kept) if kept else None
    expected = expected or (max(months) if months else None)
    if expected:
        # what the warehouse holds counts: a month kept though no longer landed is not missing
        newest = max(set(by_month) | kept) if (by_month or kept) else None
        report.freshness = assess(source, newest, expected)
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
