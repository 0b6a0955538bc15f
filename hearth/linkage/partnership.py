"""A partnership of authorities (issue 28): the partnership's landing routed, once, into each
authority's own landing, so each authority runs its own Hearth home (its own DuckDB file).

Where events are split: here, before any authority's ingest, by linkage's own rule on the
partnership's registers (the household the agency named, else the one the person lived in on
the event's date: sql/linkage/route_*.sql beside sql/linkage/linked_events.sql). A police force
or fire service sends one extract for every authority; a person who moves between authorities
leaves each record in the authority they lived in on its date, and their move in both
registers. Each authority's linkage then links every routed event exactly as one warehouse of
the whole partnership would (tested).

Records that share no key with the registers (police, fire without a UPRN, most of social care
in the agencies' own identifiers, issue 25) are placed by the warehouse's own linkage run once
over the partnership's whole landing (`hearth/linkage/link.py: link`: exact keys, then splink
on the keyed-hash tokens against the union of the authorities' person registers, recalibrated,
then address-only records by premise) in the routing's own DuckDB file: each goes to the
authority of the household its best link chose (sql/linkage/route_tokens.sql). The tokens stay
in that file (deleted after) and in the rows routed, as the agency sent them; only counts and
authority codes leave. The authority's own linkage of what it received then finds the same
household (tested against the truth): its register holds the person the partnership chose, and
every rival it holds the partnership held too.

A row no register knows, no linkage placed (`no_candidate`, `uncertain_token_link` below
LINK_FLOOR, as the warehouse keeps them), the partnership's ingest refused
(`refused_by_contract`), or of an authority outside the partnership, is routed nowhere and
counted with its reason: received = routed + not routed, for every extract, in `routing.json`.
An authority with no row of an extract gets a header-only file marked as routed
(hearth/ingest/files.py: ROUTED_NONE), which its ingest takes as 0 rows received; a source the
partnership's landing lacks (a late extract) reaches no authority and stays missing."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from hearth import settings
from hearth.atomic import write_atomically
from hearth.ingest.files import ROUTED_NONE, BatchProblem, read_parts
from hearth.ingest.landing import Extract, Inventory, inventory
from hearth.ingest.run import ingest_source
from hearth.linkage.link import link
from hearth.settings import AUTHORITY_CODE
from hearth.sources import REFERENCE_FOLDER, SOURCES, reference_file_name
from hearth.warehouse import connect, query_source, run_sql, source_sql

AREAS = reference_file_name("areas")
ROUTE_SQL = {"household": "linkage/route_households", "person": "linkage/route_people"}
OUTSIDE = "outside_partnership"


class PartnershipError(ValueError):
    """The partnership cannot be read from the landing, in a sentence."""


def read_authorities(landing: Path) -> tuple[str, ...]:
    """The partnership's authorities: the local authority rows (area_type LA) of the landing's
    area names lookup (`landing/reference/areas.csv`), in code order. Read when called."""
    path = landing / REFERENCE_FOLDER / AREAS
    if not path.is_file():
        raise PartnershipError(
            f"The partnership's authorities are read from {REFERENCE_FOLDER}/{AREAS} in the "
            f"landing ({landing}), which is not there: land the area names lookup first."
        )
    try:
        areas = pl.read_csv(path, infer_schema=False)
    except Exception as e:  # a damaged file: name the file and the kind, never a value
        raise PartnershipError(
            f"{REFERENCE_FOLDER}/{AREAS} is not a well-formed CSV file ({type(e).__name__})."
        ) from None
    missing = {"area_code", "area_type"} - set(areas.columns)
    if missing:
        raise PartnershipError(
            f"{REFERENCE_FOLDER}/{AREAS} has no column {', '.join(sorted(missing))}: the "
            "authorities are its rows with area_type LA."
        )
    codes = areas.filter(pl.col("area_type").str.strip_chars() == "LA")["area_code"]
    codes = codes.str.strip_chars().drop_nulls().unique().sort().to_list()
    bad = [c for c in codes if not AUTHORITY_CODE.fullmatch(c)]
    if bad:
        raise PartnershipError(
            f"{REFERENCE_FOLDER}/{AREAS}, column area_code: {len(bad)} row(s) of area_type LA "
            "are not ONS codes (a letter E, W, S or N and 8 digits); an authority's code "
            "names its folder, so none was used."
        )
    if not codes:
        raise PartnershipError(
            f"{REFERENCE_FOLDER}/{AREAS} has no row of area_type LA: the partnership has no "
            "authority."
        )
    return tuple(codes)


@dataclass
class Routed:
    """One extract of the partnership's landing, and where its rows went."""

    source: str
    month: str
    received: int = 0
    routed: dict[str, int] = field(default_factory=dict)  # authority: rows
    copies: int = 0  # register rows sent to two authorities (a move between them)
    not_routed: dict[str, int] = field(default_factory=dict)  # reason: rows
    refused: str | None = None  # a file the router could not read: routed nowhere

    @property
    def balanced(self) -> bool:
        routed = sum(self.routed.values()) - self.copies
        return self.refused is not None or self.received == routed + sum(self.not_routed.values())


@dataclass
class Routing:
    authorities: tuple[str, ...]
    extracts: list[Routed] = field(default_factory=list)
    # entries of the partnership's landing that are not read and may hold rows (a workbook, a
    # folder that is not a month): routed nowhere, so no authority runs until they are sorted
    # out, as one home's run would stop (`all_files_read`)
    blocking: list[str] = field(default_factory=list)

    def as_record(self) -> dict:
        return {
            "authorities": list(self.authorities),
            "blocking": self.blocking,
            "extracts": [asdict(e) for e in self.extracts],
        }

    def sentences(self) -> list[str]:
        """What a partnership officer must know: files not routed, rows routed nowhere."""
        out = list(self.blocking)
        out += [e.refused for e in self.extracts if e.refused]
        for reason in sorted({r for e in self.extracts for r in e.not_routed}):
            n = sum(e.not_routed.get(reason, 0) for e in self.extracts)
            out.append(f"{n} row(s) went to no authority: {reason.replace('_', ' ')}.")
        return out


def load_partnership(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    inv: Inventory,
    say: Callable[[str], None] = lambda _: None,
) -> None:
    """The partnership's whole landing into `con` (checked by its contracts, as every ingest
    is) and linked as one warehouse of the partnership would link it (exact keys, then tokens:
    hearth/linkage/link.py), then each stay's authority and each keyless record's
    (sql/linkage/route_stays.sql, route_tokens.sql). The linkage model is trained for the
    routing and not kept; messages carry counts only."""
    months = sorted({e.month for e in inv.extracts})
    registers = [s for s in SOURCES.values() if s.kind == "register"]
    for source in [*registers, *(s for s in SOURCES.values() if s.kind != "register")]:
        say(f"Routing: reading the partnership's {source.name} extracts.")
        ingest_source(con, landing, source.name, months, inv=inv)
    link(con, progress=lambda m: say(f"Routing: {m}."))
    run_sql(con, "linkage/route_stays")
    run_sql(con, "linkage/route_tokens")


def _clear(scratch: Path) -> None:
    """The routing's DuckDB file gone, with its write-ahead log and spill folder."""
    scratch.unlink(missing_ok=True)
    scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)
    shutil.rmtree(scratch.with_name(scratch.name + ".tmp"), ignore_errors=True)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".csv.gz", ".csv", ".parquet"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _named(template: str, columns: list[str]) -> list[str]:
    """The columns of an extract a routing template reads: those its statement names (outside
    its comments). Only these are handed to DuckDB; a month of the person register is the whole
    register, and its token columns are most of it."""
    words = set(re.findall(r"[a-z_][a-z0-9_]*", re.sub(r"--[^\n]*", "", template)))
    return [c for c in columns if c in words]


def route_extract(
    con: duckdb.DuckDBPyConnection,
    ex: Extract,
    authorities: tuple[str, ...],
    out: Callable[[str], Path],
    chosen: tuple[str, ...] | None = None,
) -> Routed:
    """Split one extract's rows (as text, as ingest reads them) between the authorities; write
    each authority's share (of `chosen`, default all; every authority's rows are counted) to
    `out(authority)/<source>/<month>/<name>.parquet`. A month with no row for an authority is
    written with its header only, marked ROUTED_NONE (that authority has nothing that month,
    and knows it)."""
    source = SOURCES[ex.source]
    result = Routed(ex.source, ex.month)
    try:
        rows, _ = read_parts(ex)
    except BatchProblem as p:
        result.refused = f"{p} It was routed to no authority."
        return result
    result.received = rows.height
    rows = rows.with_row_index("_row")
    sql = ROUTE_SQL.get(source.register_of or "", "linkage/route_events")
    # DuckDB is handed only the columns the template names. Registering the whole frame made
    # Polars rechunk it in place and copy every column, tokens too, into Arrow for DuckDB: for
    # the person register's first month (the whole register) that was the routing's peak
    # (issue 28, docs/performance.md)
    con.register("incoming", rows.select(_named(source_sql(sql, source), rows.columns)))
    try:
        routes = query_source(con, sql, source, {"source": ex.source}).pl()
    finally:
        con.unregister("incoming")
    member = pl.col("authority").is_in(list(authorities))
    reasons = pl.when(pl.col("authority").is_null()).then("reason").otherwise(pl.lit(OUTSIDE))
    lost = routes.group_by("_row").agg(member.any().alias("kept"), reasons.first().alias("why"))
    for why, n in lost.filter(~pl.col("kept")).group_by("why").len().sort("why").iter_rows():
        result.not_routed[why] = int(n)
    kept = routes.filter(member)
    result.copies = kept.height - kept["_row"].n_unique()
    for authority in authorities:  # counted for all, so received = routed + not routed
        mine = kept.filter(pl.col("authority") == authority)["_row"]
        result.routed[authority] = mine.len()
        if chosen is not None and authority not in chosen:
            continue
        # one chunk per column, as the Parquet file's pages have always been cut
        share = rows.filter(pl.col("_row").is_in(mine.implode())).drop("_row").rechunk()
        share = share.to_arrow()
        if share.num_rows == 0:  # any source: "nothing of yours", not an empty extract
            share = share.replace_schema_metadata({ROUTED_NONE: b"1"})
        folder = out(authority) / ex.source / ex.month
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{_stem(ex.paths[0])}.parquet"
        write_atomically(target, lambda f, t=share: pq.write_table(t, f))
    return result


def route(
    landing: Path,
    authorities_dir: Path,
    scratch: Path,
    only: Iterable[str] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Routing:
    """Route the partnership's landing into `authorities_dir/<code>/landing/` (each replaced
    whole), for every authority or `only` those named. `scratch` is the routing's own DuckDB
    file (the partnership's landing ingested and linked), deleted when the routing ends."""
    authorities = read_authorities(landing)
    chosen = tuple(only) if only is not None else authorities
    unknown = sorted(set(chosen) - set(authorities))
    if unknown:
        raise PartnershipError(
            f"{', '.join(unknown)} is not an authority of the partnership (the LA rows of "
            f"{REFERENCE_FOLDER}/{AREAS}: {', '.join(authorities)})."
        )
    staging = {a: authorities_dir / a / "landing.routing" for a in chosen}
    for folder in staging.values():
        shutil.rmtree(folder, ignore_errors=True)
    report = Routing(authorities)
    _clear(scratch)
    inv = inventory(landing)
    try:
        with connect(scratch) as con:  # the warehouse's budget for the ingest and linkage
            run_sql(con, "linkage/route_session")
            load_partnership(con, landing, inv, say)
            limit = settings.routing_duckdb_memory_limit()
            run_sql(con, "linkage/route_writing", {"memory_limit": limit})
            report.blocking = [
                f"{u.path}: not read; {u.why} No authority runs until it is sorted out."
                for u in inv.unread
                if u.blocking
            ]
            extracts = sorted(inv.extracts, key=lambda e: (e.source, e.month))
            for i, ex in enumerate(extracts, 1):
                if i == 1 or ex.source != extracts[i - 2].source:
                    say(f"Routing: the {ex.source} extracts.")
                report.extracts.append(
                    route_extract(con, ex, authorities, staging.__getitem__, chosen)
                )
                if i % 50 == 0 or i == len(extracts):
                    say(f"Routing: {i} of {len(extracts)} extracts.")
    finally:  # the partnership's tokens and registers go with it, whatever happened
        _clear(scratch)
    for authority, folder in staging.items():
        reference = folder / REFERENCE_FOLDER
        reference.mkdir(parents=True, exist_ok=True)
        for path in sorted((landing / REFERENCE_FOLDER).glob("*")):
            if path.is_file() and not path.is_symlink():
                shutil.copy2(path, reference / path.name)
        final = authorities_dir / authority / "landing"
        shutil.rmtree(final, ignore_errors=True)
        folder.rename(final)
    return report
