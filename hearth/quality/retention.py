"""Retention as the contracts say: at each run, records older than their contract's
`slaProperties: retention` leave the warehouse, counted per source.

The clock is the run's day (`hearth.settings.today`, HEARTH_CLOCK to replay one). A source kept
N months keeps every record dated on or after the first day of the month N months before this
one (the *cut-off*): "six years after the extract month, then deleted" leaves a record of March
2020 in place through March 2026 and deletes it in April. What a record's date is:

- an event (social care, health, fire, police): its date, the contract's retention `element`;
- a register row (addresses, people): the day it stopped being true, i.e. the date of the next
  row for the same household or person, or the person's departure (LEFT_AREA). The current row
  of a household or resident is the register itself and stays while it is current;
- a quarantined row: the month it arrived in (its own date may be what was wrong with it);
- the linkage's tables (`events`, `linked_events`, `residence`, `households`) lose the same
  records, and the rankings kept between months (`score_history`, `monitoring`), made from every
  source, go by the shortest retention of all;
- files: `features/` Parquet and `outputs/<as_of>/` folders as of a month before that shortest
  cut-off (never the folder `outputs/latest` points at, nor the newest, nor what the run itself
  uses), deleted when the run commits (hearth/operations/commit.py: delete_expired).

Everything is deleted inside the run's copy of the warehouse, so it takes effect when the run
commits, with the rest of the run, and a run interrupted before then deletes nothing. What went
is written to `retention_log` (counts only) for run_summary.json, the report and `hearth dpia`.
HEARTH_RETENTION_MONTHS shortens every retention, for test and synthetic worlds only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from hearth import settings
from hearth.months import add_months, month_of, month_start
from hearth.quality.contracts import load_all
from hearth.sources import SOURCES, Source
from hearth.warehouse import query, run_sql, source_statements, statements

DERIVED = "all sources"  # the source named for rankings made from every source
_TABLE = re.compile(r'DELETE\s+FROM\s+"?(\w+)"?', re.IGNORECASE)
_FILE_MONTH = re.compile(r"^(?:features|labels)_(\d{4}-\d{2})\.parquet$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class Limit:
    """One source's retention as applied on a day."""

    source: str
    months: int  # as applied: the contract's, or HEARTH_RETENTION_MONTHS when shorter
    contract_months: int
    element: str  # the contract's retention element (the date column)
    cutoff: date  # the first day whose records are kept

    @property
    def cutoff_month(self) -> str:
        return self.cutoff.strftime("%Y-%m")

    @property
    def shortened(self) -> bool:
        return self.months < self.contract_months


def limits(today: date | None = None) -> dict[str, Limit]:
    """Each source's retention and cut-off on `today` (default: the run's clock)."""
    day = today or settings.today()
    override = settings.retention_override_months()
    out: dict[str, Limit] = {}
    for source, contract in load_all().items():
        kept = contract.retention_months or 0
        months = min(kept, override) if override else kept
        cutoff = month_start(add_months(month_of(day), -months))
        out[source] = Limit(source, months, kept, contract.retention_element or "", cutoff)
    return out


def derived_cutoff(by_source: dict[str, Limit]) -> date:
    """What is made from every source goes with the first of them: the latest cut-off."""
    return max(lim.cutoff for lim in by_source.values())


@dataclass
class RetentionResult:
    ran_at: datetime
    limits: dict[str, Limit]
    deleted: list[dict] = field(default_factory=list)  # source, table_name, kind, month, rows
    files: list[str] = field(default_factory=list)  # files and folders to go at commit

    def rows(self, source: str, kind: str) -> int:
        return sum(d["rows"] for d in self.deleted if d["source"] == source and d["kind"] == kind)

    def summary(self) -> dict[str, object]:
        """For run_summary.json: per source, its retention, cut-off and the rows deleted."""
        sources = {
            s: {
                "retention_months": lim.months,
                "contract_retention_months": lim.contract_months,
                "kept_from": lim.cutoff.isoformat(),
                "accepted_rows_deleted": self.rows(s, "accepted"),
                "quarantined_rows_deleted": self.rows(s, "quarantined"),
                "linked_rows_deleted": self.rows(s, "derived"),
            }
            for s, lim in self.limits.items()
        }
        return {
            "ran_at": self.ran_at.isoformat(timespec="seconds"),
            "shortened_by": settings.RETENTION_ENV
            if any(lim.shortened for lim in self.limits.values())
            else None,
            "sources": sources,
            "rankings_deleted": self.rows(DERIVED, "derived"),
            "files_deleted": [Path(f).name for f in self.files],
        }

    def sentence(self) -> str:
        return retention_sentence(self.summary())


def retention_sentence(summary: dict | None) -> str:
    """One sentence for the console and the report from run_summary.json's `retention`."""
    if not summary:
        return "Retention was not applied in this run."
    parts = []
    for source, s in (summary.get("sources") or {}).items():
        n, q = s["accepted_rows_deleted"], s["quarantined_rows_deleted"]
        if n or q:
            held = f" and {q:,} quarantined" if q else ""
            parts.append(f"{source} {n:,} rows{held} (before {s['kept_from']})")
    files = len(summary.get("files_deleted") or [])
    tail = f"; {files} old output or feature file{'s' if files != 1 else ''}" if files else ""
    shortened = (
        f" Retention is shortened by {summary['shortened_by']} (test worlds only)."
        if summary.get("shortened_by")
        else ""
    )
    if not parts and not files:
        return "Retention: nothing held was older than its contract allows." + shortened
    return (
        "Retention deleted records older than their contracts allow: "
        + "; ".join(parts or ["no rows"])
        + tail
        + "."
        + shortened
    )


def _delete(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: dict[str, object],
    tables: set[str],
    source: str,
    template: bool = False,
) -> list[dict]:
    """Run each DELETE ... RETURNING month of `sql/<name>.sql` (a template filled from
    `source`'s contract when `template`) on the tables that exist; the rows it deleted, counted
    by table and month."""
    out = []
    texts = source_statements(name, SOURCES[source]) if template else statements(name)
    for stmt in texts:
        table = _TABLE.search(stmt).group(1)
        if table not in tables:
            continue  # made by a later stage, not yet in this warehouse
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", stmt)}
        months = pl.Series("month", con.execute(stmt, used).fetchnumpy()["month"], pl.String)
        if months.len() == 0:
            continue
        kind = (
            "accepted"
            if table.startswith("raw_")
            else "quarantined"
            if table == "quarantine"
            else "derived"
        )
        for month, rows in months.value_counts().iter_rows():
            out.append(
                {"source": source, "table_name": table, "kind": kind, "month": month, "rows": rows}
            )
    return out


def _retention_sql(src: Source) -> list[tuple[str, bool]]:
    """The retention SQL for one source, in order, each with whether it is a template: its
    accepted rows (an event's date; a register row's end), its quarantine, the linkage's rows
    made from it."""
    if src.dated:
        todo = [("retention_events", True)]
    else:
        todo = [("retention_register", True)]
        if src.register_of == "person":
            todo.append(("retention_departures", True))
    todo += [("retention_quarantine", False), ("retention_linked", False)]
    if src.register_of == "person":
        todo.append(("retention_residence", False))
    if src.register_of == "household":
        todo.append(("retention_households", True))
    return todo


def apply_retention(con: duckdb.DuckDBPyConnection, today: date | None = None) -> RetentionResult:
    """Delete every record past its contract's retention, in one transaction, and log it."""
    by_source = limits(today)
    tables = {r[0] for r in query(con, "quality/retention_tables").fetchall()}
    con.execute("BEGIN TRANSACTION")
    try:
        # the warehouse's clock, as ingest stamps its loads (sql/ingest/accounting.sql compares)
        ran_at = con.execute("SELECT now()::TIMESTAMP").fetchall()[0][0]
        result = RetentionResult(ran_at, by_source)
        for source, lim in by_source.items():
            params = {"source": source, "cutoff": lim.cutoff, "cutoff_month": lim.cutoff_month}
            for name, template in _retention_sql(SOURCES[source]):
                result.deleted += _delete(con, f"quality/{name}", params, tables, source, template)
        cutoff = derived_cutoff(by_source)
        params = {"cutoff_month": cutoff.strftime("%Y-%m")}
        result.deleted += _delete(con, "quality/retention_derived", params, tables, DERIVED)
        _record(con, result)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def _record(con: duckdb.DuckDBPyConnection, result: RetentionResult) -> None:
    """One log row per source, table and month, and one per source even when nothing went (so
    the log says retention ran, and on which day)."""
    rows = list(result.deleted)
    for source in result.limits:
        if not any(d["source"] == source for d in rows):
            rows.append(
                {"source": source, "table_name": "", "kind": "none", "month": None, "rows": 0}
            )
    months = {**{s: lim.months for s, lim in result.limits.items()}}
    months[DERIVED] = min(months.values())
    cutoffs = {s: lim.cutoff for s, lim in result.limits.items()}
    cutoffs[DERIVED] = derived_cutoff(result.limits)
    frame = pl.DataFrame(
        [
            {**r, "retention_months": months[r["source"]], "cutoff": cutoffs[r["source"]]}
            for r in rows
        ],
        schema={
            "source": pl.String,
            "table_name": pl.String,
            "kind": pl.String,
            "month": pl.String,
            "rows": pl.Int64,
            "retention_months": pl.Int64,
            "cutoff": pl.Date,
        },
    )
    con.register("retention_frame", frame)
    try:
        run_sql(con, "quality/retention_record", {"ran_at": result.ran_at})
    finally:
        con.unregister("retention_frame")


def record_files(
    con: duckdb.DuckDBPyConnection, result: RetentionResult, files: list[Path]
) -> None:
    """Note in the log (one row each, by name) the files the run's commit will delete."""
    result.files = [str(p) for p in files]
    if not files:
        return
    cutoff = derived_cutoff(result.limits)
    months = min(lim.months for lim in result.limits.values())
    frame = pl.DataFrame(
        {
            "source": [DERIVED] * len(files),
            "table_name": [p.name for p in files],
            "kind": ["file"] * len(files),
            "month": [None] * len(files),
            "rows": [1] * len(files),
            "retention_months": [months] * len(files),
            "cutoff": [cutoff] * len(files),
        },
        schema_overrides={"month": pl.String, "cutoff": pl.Date},
    )
    con.register("retention_frame", frame)
    try:
        run_sql(con, "quality/retention_record", {"ran_at": result.ran_at})
    finally:
        con.unregister("retention_frame")


def logged_summary(con: duckdb.DuckDBPyConnection) -> dict[str, object] | None:
    """The newest retention pass as `RetentionResult.summary` gives it, read back from
    `retention_log` (for run_summary.json); None if retention never ran here."""
    rows = last_deletion(con)
    if not rows:
        return None
    by_source: dict[str, dict[str, object]] = {}
    for r in rows:
        if r["source"] == DERIVED:
            continue
        s = by_source.setdefault(
            r["source"],
            {
                "retention_months": r["retention_months"],
                "contract_retention_months": None,
                "kept_from": r["cutoff"].isoformat(),
                "accepted_rows_deleted": 0,
                "quarantined_rows_deleted": 0,
                "linked_rows_deleted": 0,
            },
        )
        key = {"accepted": "accepted_rows_deleted", "quarantined": "quarantined_rows_deleted"}
        s[key.get(r["kind"], "linked_rows_deleted")] += r["rows"] if r["kind"] != "none" else 0
    contracts = load_all()
    for source, s in by_source.items():
        s["contract_retention_months"] = contracts[source].retention_months
    shortened = any(
        s["retention_months"] < s["contract_retention_months"] for s in by_source.values()
    )
    derived = [r for r in rows if r["source"] == DERIVED]
    return {
        "ran_at": rows[0]["ran_at"].isoformat(timespec="seconds"),
        "shortened_by": settings.RETENTION_ENV if shortened else None,
        "sources": {s: by_source[s] for s in SOURCES if s in by_source},
        "rankings_deleted": sum(r["rows"] for r in derived if r["kind"] == "derived"),
        "files_deleted": sorted(r["table_name"] for r in derived if r["kind"] == "file"),
    }


# ---- files: old feature sets and published folders -----------------------------------------


def expired_files(
    outputs: Path, features: Path, cutoff: date, keep_months: set[str] = frozenset()
) -> list[Path]:
    """Feature and label files, and `outputs/<as_of>/` folders, as of a month before `cutoff`;
    never a month in `keep_months` (what the run uses or publishes), the folder
    `outputs/latest` points at, nor the newest folder (this run's own included)."""
    first_kept = cutoff.strftime("%Y-%m")
    found: list[Path] = []
    if features.is_dir():
        for p in sorted(features.iterdir()):
            m = _FILE_MONTH.match(p.name)
            if m and m.group(1) < first_kept and m.group(1) not in keep_months:
                found.append(p)
    if outputs.is_dir():
        published = sorted(p for p in outputs.iterdir() if p.is_dir() and _MONTH.match(p.name))
        latest = outputs / "latest"
        pointed = latest.resolve().name if latest.is_symlink() else None
        # never the newest, counting the one this run is about to publish
        newest = max([p.name for p in published] + [m for m in keep_months if _MONTH.match(m)])
        for p in published:
            if (
                p.name < first_kept
                and p.name not in keep_months
                and p.name not in (pointed, newest)
            ):
                found.append(p)
    return found


def last_deletion(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """What the newest retention pass deleted, per source, table and kind (empty if none ran)."""
    return query(con, "quality/retention_last_run").pl().to_dicts()
