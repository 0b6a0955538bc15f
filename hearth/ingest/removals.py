"""Removals: no accepted record leaves the warehouse unless an officer says so.

The warehouse follows the landing, but a landing can lose things by accident (a share that failed
to mount, a restored server, a file cut short). So a change of the landing that would take
accepted records out of the warehouse is not applied by itself; it is a *removal*, listed with
what would go, and applied only when an officer accepts that exact list (`hearth run
--accept-removals`, or `run_settings.accept_removals` in the Dagster launchpad):

- `not_landed`: a month the warehouse holds that is no longer landed (its folder deleted, renamed
  or emptied, or the source's whole folder gone);
- `shrinks`: a month landed again whose new copy would leave fewer accepted rows than the copy it
  replaces, by more than SHRINK_SHARE of them.

A month the landing still has but cannot read (a workbook, a link out of the landing, a month
after the run's clock) is never a removal: it is kept as it was, whatever is accepted, and the
`all_files_read` check says why. A refused file never replaces the month it would replace.

Each removal has a key (`source:month:digest`) over what it would remove and the copies involved;
an officer accepts keys, so if the landing changes after the list was shown, the keys no longer
match and the run refuses instead of removing something else."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import duckdb
import polars as pl

from hearth.ingest.landing import Inventory
from hearth.months import MONTH_RE
from hearth.sources import SOURCES
from hearth.warehouse import query, run_source_sql, run_sql

# A re-landed month may lose up to this share of the accepted rows of the copy it replaces (an
# agency's correction that drops a few wrong records) without an officer's word; beyond it, the
# new copy is a removal to accept.
SHRINK_SHARE = 0.05
NOT_LANDED, SHRINKS = "not_landed", "shrinks"


@dataclass(frozen=True)
class Removal:
    source: str
    month: str
    kind: str  # not_landed | shrinks
    rows_accepted: int  # accepted rows that would leave the warehouse
    rows_quarantined: int  # quarantined rows that would leave with them
    held_sha: str  # the copy the warehouse holds
    new_sha: str = ""  # the copy that would replace it (shrinks)
    new_accepted: int = 0

    @property
    def key(self) -> str:
        what = "|".join(
            str(v)
            for v in (
                self.source,
                self.month,
                self.kind,
                self.rows_accepted,
                self.rows_quarantined,
                self.held_sha,
                self.new_sha,
            )
        )
        return f"{self.source}:{self.month}:{hashlib.sha256(what.encode()).hexdigest()[:10]}"

    def sentence(self) -> str:
        if self.kind == NOT_LANDED:
            return (
                f"{self.source} {self.month}: no longer landed; {self.rows_accepted} accepted and "
                f"{self.rows_quarantined} quarantined rows would leave the warehouse "
                f"[{self.key}]."
            )
        held = self.new_accepted + self.rows_accepted
        return (
            f"{self.source} {self.month}: the copy landed again would leave {self.new_accepted} "
            f"accepted rows where the warehouse holds {held}; {self.rows_accepted} accepted rows "
            f"would leave the warehouse (more than {SHRINK_SHARE:.0%} of the month) "
            f"[{self.key}]."
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"key": self.key}


def unreadable_months(inv: Inventory, source: str, held: set[str] | None = None) -> set[str]:
    """Months of `source` the landing has but could not read whole (a file Hearth does not
    read, a link out of the landing - a file, a month folder or the source's folder itself -, a
    month after the run's clock): never removed. `held` are the months the warehouse holds,
    all kept when the source's folder itself could not be read."""
    out: set[str] = set()
    for u in inv.unread_for(source):
        if not u.blocking:
            continue
        name = u.path.rsplit("/", 1)[-1]
        if u.month:
            out.add(u.month)
        elif MONTH_RE.match(name) and u.path == f"{source}/{name}":
            out.add(name)  # a month folder that is a link out of the landing
        elif u.path == source:
            out |= held or set()  # the source's folder is a link out of the landing
    return out


def held_copies(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, tuple[str, int, int]]:
    """The months of `source` the warehouse holds as loaded: month -> (sha256, accepted,
    quarantined)."""
    rows = query(con, "ingest/months_loaded", {"source": source}).fetchall()
    return {m: (sha, acc, held_) for m, sha, acc, held_ in rows}


def not_landed(con: duckdb.DuckDBPyConnection, source: str, inv: Inventory) -> list[Removal]:
    """The months the warehouse holds for `source` that the landing no longer has (and that are
    not merely unreadable), with the rows they hold."""
    landed = {e.month for e in inv.extracts if e.source == source}
    copies = held_copies(con, source)
    keep = landed | unreadable_months(inv, source, set(copies))
    return [
        Removal(source, month, NOT_LANDED, acc, q, sha)
        for month, (sha, acc, q) in sorted(copies.items())
        if month not in keep
    ]


def shrinkage(
    source: str,
    month: str,
    held_copy: tuple[str, int, int] | None,
    new_sha: str,
    new_accepted: int,
) -> Removal | None:
    """The removal a new copy of a held month would be: None unless it leaves fewer accepted
    rows than the copy it replaces by more than SHRINK_SHARE."""
    if held_copy is None or held_copy[0] == new_sha:
        return None
    sha, accepted, _ = held_copy
    if new_accepted >= accepted * (1 - SHRINK_SHARE):
        return None
    return Removal(source, month, SHRINKS, accepted - new_accepted, 0, sha, new_sha, new_accepted)


def refusals_not_landed(con: duckdb.DuckDBPyConnection, source: str, inv: Inventory) -> list[str]:
    """Months whose only record is a refusal and that are no longer landed: bookkeeping, not
    records, so they go without a word."""
    landed = {e.month for e in inv.extracts if e.source == source}
    keep = landed | unreadable_months(inv, source) | set(held_copies(con, source))
    months = [m for (m,) in query(con, "ingest/months_held", {"source": source}).fetchall()]
    return [m for m in months if m not in keep]


def clear_month(con: duckdb.DuckDBPyConnection, source: str, month: str) -> None:
    """Remove one source's month from the warehouse (its rows, quarantine, log, refusals)."""
    run_source_sql(con, "ingest/replace_raw_month", SOURCES[source], {"month": month})
    run_sql(con, "ingest/replace_month", {"source": source, "month": month})


def remove_months(con: duckdb.DuckDBPyConnection, source: str, months: list[str]) -> None:
    """Take whole months of `source` out of the warehouse (rows, quarantine, log, refusals), in
    one transaction: only for accepted removals and refusal-only months."""
    if not months:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        for month in months:
            clear_month(con, source, month)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


_PENDING_SCHEMA = {
    "source": pl.String,
    "extract_month": pl.String,
    "kind": pl.String,
    "rows_accepted": pl.Int64,
    "rows_quarantined": pl.Int64,
    "removal_key": pl.String,
    "held_sha": pl.String,
    "sentence": pl.String,
}


def record_pending(con: duckdb.DuckDBPyConnection, source: str, found: list[Removal]) -> None:
    """What the landing would remove for `source` now, accepted or not, for `hearth run
    --accept-removals` to read back (replaced at each ingest step of the source; kept by a
    stopped run). Read back, only those whose copy the warehouse still holds are listed."""
    frame = pl.DataFrame(
        [
            {
                "source": r.source,
                "extract_month": r.month,
                "kind": r.kind,
                "rows_accepted": r.rows_accepted,
                "rows_quarantined": r.rows_quarantined,
                "removal_key": r.key,
                "held_sha": r.held_sha,
                "sentence": r.sentence(),
            }
            for r in found
        ],
        schema=_PENDING_SCHEMA,
    )
    con.register("incoming_removals", frame)
    try:
        run_sql(con, "ingest/removals_pending_replace", {"source": source})
    finally:
        con.unregister("incoming_removals")


def pending(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The removals the last run found whose copy the warehouse still holds, by source and
    month: the list an officer is asked to accept."""
    cols = ("source", "month", "kind", "rows_accepted", "rows_quarantined", "key", "sentence")
    rows = query(con, "ingest/removals_pending").fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _rows(n: int) -> str:
    return f"{n:,} row{'s' if n != 1 else ''}"


def summary(source: str, found: list[Removal]) -> list[str]:
    """One sentence per kind of removal of a source (months not landed are summed: a whole
    source folder gone is one sentence, not 36)."""
    out: list[str] = []
    gone = [r for r in found if r.kind == NOT_LANDED]
    if gone:
        months = [r.month for r in gone]
        when = months[0] if len(months) == 1 else f"{len(months)} months, {months[0]}..{months[-1]}"
        out.append(
            f"{source}: {when} no longer landed; {_rows(sum(r.rows_accepted for r in gone))} "
            f"accepted and {_rows(sum(r.rows_quarantined for r in gone))} quarantined would "
            "leave the warehouse."
        )
    for r in found:
        if r.kind != NOT_LANDED:
            out.append(r.sentence().rsplit(" [", 1)[0] + ".")
    return out


def verdict(
    source: str, withheld: list[Removal], unmatched: list[str], allow_missing: bool
) -> tuple[str | None, str]:
    """The `removals_accepted` check of a source: its severity (None when it passes, WARN when
    the run goes on with what was accepted before, ERROR when the run stops) and sentence."""
    if unmatched:
        return "ERROR", (
            f"{source}: the landing changed since the list of removals was shown: "
            f"{', '.join(unmatched)} no longer match what the landing would remove; nothing was "
            "removed. Run again without --accept-removals to see the list as it is now."
        )
    if not withheld:
        return None, "nothing accepted leaves the warehouse unless an officer accepted it"
    text = " ".join(summary(source, withheld))
    shrinks = any(r.kind != NOT_LANDED for r in withheld)
    if allow_missing and not shrinks:
        return "WARN", (
            f"{text} They are kept: the run goes on with what was accepted before (missing "
            "sources are allowed). If they should go, accept the list: hearth run "
            "--accept-removals."
        )
    return "ERROR", (
        f"{text} Nothing was removed and the run stops. If the landing lost them by accident, "
        "put them back; if they should go, accept the list: hearth run --accept-removals (in "
        "the Dagster launchpad, run_settings.accept_removals with the keys in this check's "
        "metadata)."
    )
