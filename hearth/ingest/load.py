"""Ingest one extract: batch checks, row rules, then an atomic replace of that source-month."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from hearth.ingest.files import BatchProblem, extract_sha256, read_parts, routed_none
from hearth.ingest.identifiers import (
    KINDS,
    guard_columns,
    identifier_like_columns,
    scan_header,
    scan_identifiers,
)
from hearth.ingest.landing import Extract
from hearth.ingest.removals import Removal, clear_month, shrinkage
from hearth.ingest.rules import apply_rules, check_month_matches_folder
from hearth.ingest.shapes import header_is_shown
from hearth.ingest.volume import out_of_line, refused_against
from hearth.quality.contracts import Contract
from hearth.sources import SOURCES
from hearth.warehouse import query, query_one, query_source, run_sql


@dataclass
class IngestResult:
    source: str
    month: str
    file_name: str
    status: str  # loaded | unchanged | refused | held (kept: its new copy would be a removal)
    rows_received: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    rule: str | None = None  # the batch rule that refused it
    column: str | None = None
    message: str | None = None
    removal: Removal | None = None  # what loading the new copy would remove (status held)


def _shown(column: str, position: int, known: set[str]) -> str:
    """How a message names a column the contract does not know. A header not made of the
    words headers are made of (`hearth/ingest/shapes.py`) may be a value (a file sent without
    its header: a name, a number), so such a column is named by its position only."""
    if header_is_shown(column, known):
        return f"column '{column}'"
    return f"column {position + 1} (its name is not shown: it may be a value)"


def _check_columns(contract: Contract, ex: Extract, columns: list[str]) -> None:
    known = {c.name for c in contract.columns}
    flagged = [c for c in identifier_like_columns(columns) if header_is_shown(c, known)]
    if flagged:
        raise BatchProblem(
            "no_raw_identifiers",
            f"{ex.source}: file {ex.file_name} has column '{flagged[0]}', whose name suggests "
            "a name, address, date of birth or direct identifier; Hearth accepts pseudonymised "
            "extracts only, under the contract's column names: the agency pseudonymises it with "
            "hearth pseudonymise --columns nhs_number:person_pid,uprn:household_pid and sends "
            "it again.",
            column=flagged[0],
        )
    in_header = scan_header(columns)
    if in_header:
        position, kind = next(iter(in_header.items()))
        raise BatchProblem(
            "no_raw_identifiers",
            f"{ex.source}: file {ex.file_name} has what looks like {KINDS[kind]} in its header "
            f"row (column {position}); the extract was not loaded. Pseudonymise it at the "
            "agency (hearth pseudonymise) and land it again.",
        )
    # Token columns (issue 25) are optional as columns too: an extract made without tokens (an
    # agency that holds its identifiers, a world with shared keys) simply lacks them.
    tokens = set(SOURCES[ex.source].tokens) if ex.source in SOURCES else set()
    expected = [c.name for c in contract.columns]
    missing = [c for c in expected if c not in columns and c not in tokens]
    extra = [(i, c) for i, c in enumerate(columns) if c not in expected]
    if len(missing) == len([c for c in expected if c not in tokens]):
        raise BatchProblem(
            "schema_matches_contract",
            f"{ex.source}: file {ex.file_name} has none of the contract's columns in its first "
            "row; the header row is missing or wrong (the first row must name the columns).",
        )
    if missing and extra:
        raise BatchProblem(
            "schema_matches_contract",
            f"{ex.source}: file {ex.file_name} lacks column '{missing[0]}' and has unknown "
            f"{_shown(extra[0][1], extra[0][0], known)} (renamed?); the contract's columns are "
            "required "
            "as named.",
            column=missing[0],
        )
    if missing:
        raise BatchProblem(
            "schema_matches_contract",
            f"{ex.source}: file {ex.file_name} lacks column '{missing[0]}', which the contract "
            "requires.",
            column=missing[0],
        )
    if extra:
        position, name = extra[0]
        raise BatchProblem(
            "schema_matches_contract",
            f"{ex.source}: file {ex.file_name} has {_shown(name, position, known)}, which is "
            "not in the contract; unknown columns are refused.",
            column=name if header_is_shown(name, known) else None,
        )


def with_absent_tokens(ex: Extract, df: pl.DataFrame) -> pl.DataFrame:
    """The extract with any token column it lacks added empty (see `_check_columns`)."""
    absent = [c for c in SOURCES[ex.source].tokens if c not in df.columns]
    return df.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)


def _check_tokens(contract: Contract, ex: Extract, df: pl.DataFrame) -> None:
    """Refuse the extract if a token column holds anything that is not a token: tokens are made
    only by `hearth pseudonymise --tokens`, so anything else (a name, a date of birth, a
    postcode pasted in the column) means the file was not made by it. Counted, never shown."""
    for name in SOURCES[ex.source].tokens:
        pattern = contract.column(name).pattern
        values = df[name].drop_nulls()
        bad = int((~values.str.contains(pattern or "^$")).sum()) if values.len() else 0
        if bad:
            raise BatchProblem(
                "no_raw_identifiers",
                f"{ex.source}: file {ex.file_name}, column '{name}' holds {bad} value"
                f"{'s' if bad != 1 else ''} that {'are' if bad != 1 else 'is'} not a token of "
                f"its declared form ({pattern}); the extract was not loaded. Token columns hold "
                "only what hearth pseudonymise --tokens makes: make the extract with it at the "
                "agency and land it again.",
                column=name,
            )


def _check_identifiers(contract: Contract, ex: Extract, df: pl.DataFrame) -> None:
    hits = scan_identifiers(df, **guard_columns(contract))
    for col, kinds in hits.items():
        kind, n = next(iter(kinds.items()))
        raise BatchProblem(
            "no_raw_identifiers",
            f"{ex.source}: file {ex.file_name}, column '{col}' holds what looks like "
            f"{KINDS[kind]} in {n} row{'s' if n != 1 else ''}; the extract was not loaded. "
            "Pseudonymise it at the agency (hearth pseudonymise) and land it again.",
            column=col,
        )


def _check_volume(
    con: duckdb.DuckDBPyConnection,
    ex: Extract,
    rows: int,
    tolerance: float | None,
    replaced: int | None = None,
) -> None:
    """Rows against the baseline the source's contract declares (volumeExpectation, judged by
    hearth/ingest/volume.py) and against the copy of this month being replaced (`replaced` rows
    received): a partial or doubled extract is refused either way. `tolerance` is the officer's
    word for one run (run_settings volume_tolerance); None keeps the contract's."""
    rule = SOURCES[ex.source].volume
    tolerance = rule.tolerance if tolerance is None else tolerance
    where = f"{ex.source}: file {ex.file_name}"
    whose = (
        f"data_contracts/{ex.source}.yaml volumeExpectation"
        if tolerance == rule.tolerance
        else "the officer's volume_tolerance for this run"
    )
    says = f"the volume rule (volume_in_line: within {tolerance:g} times, as {whose} says)"
    again = (
        f"If the change is real, run once with a volume tolerance above {tolerance:g} "
        "(run_settings volume_tolerance in the Dagster launchpad); the months after it are "
        "then judged against it."
    )
    if (
        replaced is not None
        and replaced >= rule.min_rows
        and out_of_line(rows, replaced, tolerance)
    ):
        raise BatchProblem(
            "volume_in_line",
            f"{where} has {rows} rows against {replaced} in the copy of {ex.month} it "
            f"would replace ({rows / replaced:.2f} times), outside {says}; a partial or "
            f"doubled extract is refused and the month is kept as it was. {again}",
        )
    earlier = query(con, "ingest/accepted_volumes", {"source": ex.source, "month": ex.month})
    against = refused_against(earlier.fetchall(), ex.month, rows, rule, tolerance)
    if against:
        versus = " and ".join(
            f"{base:g} in {what} ({rows / base:.2f} times)" for what, base in against
        )
        raise BatchProblem(
            "volume_in_line",
            f"{where} has {rows} rows against {versus}, outside {says}; a partial or doubled "
            f"extract is refused. {again}",
        )


def _known_record_ids(con: duckdb.DuckDBPyConnection, ex: Extract, raw: pl.DataFrame) -> pl.Series:
    """The extract's record ids that were already accepted from another month."""
    con.register("incoming_ids", raw.select("record_id"))
    try:
        return query_source(con, "ingest/record_ids", SOURCES[ex.source], {"month": ex.month}).pl()[
            "record_id"
        ]
    finally:
        con.unregister("incoming_ids")


def _is_register_update(con: duckdb.DuckDBPyConnection, ex: Extract) -> bool:
    """A register sends its full baseline once, then only what changed: a month with no
    changes (a header and no rows) is a true extract, not an empty one."""
    if SOURCES[ex.source].kind != "register":
        return False
    earlier = query_one(con, "ingest/earlier_months", {"source": ex.source, "month": ex.month})
    return bool(earlier and earlier[0])


def ingest_extract(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    ex: Extract,
    volume_tolerance: float | None = None,
    force: bool = False,
    accepted_removals: frozenset[str] = frozenset(),
) -> IngestResult:
    """Check and load one extract. Nothing is changed in the warehouse unless it passes every
    batch check; a file already loaded with the same bytes is left as it is unless `force`
    (an earlier month changed, so this month's late duplicates must be judged again). A new
    copy that would leave far fewer accepted rows than the one it replaces is a removal
    (hearth/ingest/removals.py): held, not loaded, unless its key is in `accepted_removals`."""
    rows = 0
    problem: BatchProblem | None = None
    try:
        sha = extract_sha256(ex)
    except BatchProblem as p:  # a file that became a link after the inventory
        sha, problem = "not read", p
    done = query_one(con, "ingest/loaded_sha", {"source": ex.source, "month": ex.month})
    if problem is None and done and done[0] == sha and not force:
        return IngestResult(ex.source, ex.month, ex.file_name, "unchanged", *done[1:])
    try:
        if problem is not None:
            raise problem
        raw, origin = read_parts(ex, {c.name: c.logical_type for c in contract.columns})
        rows = raw.height
        _check_columns(contract, ex, raw.columns)
        raw = with_absent_tokens(ex, raw)
        _check_tokens(contract, ex, raw)
        nothing_routed = rows == 0 and routed_none(ex)  # a partnership's "none for you"
        if rows == 0 and not nothing_routed and not _is_register_update(con, ex):
            raise BatchProblem(
                "not_empty", f"{ex.source}: file {ex.file_name} has a header but no rows."
            )
        _check_identifiers(contract, ex, raw)
        replaced = done[1] if done and done[0] != sha else None
        if not nothing_routed:  # the partnership's own extract was whole; none of it was ours
            _check_volume(con, ex, rows, volume_tolerance, replaced)
        known = None
        if "record_id" in raw.columns:
            known = _known_record_ids(con, ex, raw)
        outcome = apply_rules(contract, ex, raw, known, origin)
        check_month_matches_folder(contract, ex, outcome.accepted)
    except BatchProblem as p:
        problem = p
    except Exception as e:  # never let a library's message (which may quote data) through
        problem = BatchProblem(
            "file_readable",
            f"{ex.source}: file {ex.file_name} could not be checked ({type(e).__name__}); it "
            "is not in a form Hearth can read as its contract says.",
        )
    if problem is not None:
        run_sql(
            con,
            "ingest/record_refusal",
            {
                "source": ex.source,
                "month": ex.month,
                "file_name": ex.file_name,
                "sha256": sha,
                "rows_received": rows,
                "rule": problem.rule,
                "column_name": problem.column,
                "message": str(problem),
            },
        )
        return IngestResult(
            ex.source,
            ex.month,
            ex.file_name,
            "refused",
            rows,
            rule=problem.rule,
            column=problem.column,
            message=str(problem),
        )
    accepted, quarantined = outcome.accepted, outcome.quarantined
    held_copy = (done[0], done[2], done[3]) if done else None
    removal = shrinkage(ex.source, ex.month, held_copy, sha, accepted.height)
    if removal is not None and removal.key not in accepted_removals:
        return IngestResult(
            ex.source,
            ex.month,
            ex.file_name,
            "held",
            outcome.rows_received,
            accepted.height,
            quarantined.height,
            message=removal.sentence(),
            removal=removal,
        )
    con.execute("BEGIN TRANSACTION")
    try:
        clear_month(con, ex.source, ex.month)
        # in the table's column order: a warehouse made before the token columns has them last
        target = con.table(f"raw_{ex.source}").columns
        con.register("accepted_rows", accepted.select(target))
        con.table("accepted_rows").insert_into(f"raw_{ex.source}")
        con.register("quarantined_rows", quarantined)
        run_sql(
            con,
            "ingest/record_load",
            {
                "source": ex.source,
                "month": ex.month,
                "file_name": ex.file_name,
                "sha256": sha,
                "rows_received": outcome.rows_received,
                "rows_accepted": accepted.height,
                "rows_quarantined": quarantined.height,
            },
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("accepted_rows")
        con.unregister("quarantined_rows")
    by_rule = dict(quarantined.group_by("rule").len().iter_rows()) if quarantined.height else {}
    return IngestResult(
        ex.source,
        ex.month,
        ex.file_name,
        "loaded",
        outcome.rows_received,
        accepted.height,
        quarantined.height,
        by_rule,
        removal=removal,
    )
