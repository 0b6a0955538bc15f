"""The DuckDB warehouse: one file, one writer, SQL kept in `sql/` and run with bound parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from hearth import settings
from hearth.settings import SQL_DIR
from hearth.sources import SOURCES, Source, quote, register_names, sql_names

# A template's placeholder for a name from a contract: `{raw_table}`, `{date_column}`.
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@cache
def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql` (name may include a sub-folder, e.g. `ingest/ledger`), with
    the registers' tables filled in where it names them (`{household_register}`,
    `{person_register}`: hearth.sources.register_names)."""
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    if "_register}" not in text:
        return text
    names = register_names()
    return re.sub(r"\{([a-z]+_register)\}", lambda m: names[m.group(1)], text)


def statements(name: str) -> list[str]:
    """The statements of a SQL file, split on `;` at line ends (our files keep one per block)."""
    return _split(sql_text(name))


def _split(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(";\n")]
    return [
        p.rstrip(";") for p in parts if p and not all(ln.startswith("--") for ln in p.splitlines())
    ]


def run_sql(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> None:
    """Run every statement of a SQL file, binding only the parameters each statement names."""
    for stmt in statements(name):
        used = {k: v for k, v in (params or {}).items() if f"${k}" in stmt}
        con.execute(stmt, used) if used else con.execute(stmt)


def query(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyRelation:
    """A one-statement SELECT file as a relation (`.pl()`, `.fetchall()`).

    DuckDB 2 keeps no result on a relation, so each fetch runs the query again: fetch once."""
    stmt = sql_text(name).strip().rstrip(";")
    used = {k: v for k, v in (params or {}).items() if f"${k}" in stmt}
    return con.sql(stmt, params=used) if used else con.sql(stmt)


def query_one(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> tuple | None:
    """The first row of a SELECT file, or None."""
    rows = query(con, name, params).fetchall()
    return rows[0] if rows else None


def source_sql(name: str, source: Source, extra: Mapping[str, str] | None = None) -> str:
    """The template `sql/<name>.sql` for one source: each `{placeholder}` becomes the quoted
    name the source's contract gives it (`hearth.sources.sql_names`). DuckDB cannot bind a
    table or column name, so these are the only names that enter SQL text, each checked; every
    value is still a bound parameter."""
    names = {**sql_names(source), **{k: quote(v) for k, v in (extra or {}).items()}}

    def fill(m: re.Match) -> str:
        if m.group(1) not in names:
            raise KeyError(f"sql/{name}.sql: no contract name for {{{m.group(1)}}}")
        return names[m.group(1)]

    return _PLACEHOLDER.sub(fill, sql_text(name))


def source_statements(name: str, source: Source) -> list[str]:
    """The statements of a template (see `source_sql`) for one source."""
    return _split(source_sql(name, source))


def run_source_sql(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source: Source,
    params: Mapping[str, Any] | None = None,
    extra: Mapping[str, str] | None = None,
) -> None:
    """Run every statement of a template (see `source_sql`) for one source; `extra` names
    more placeholders (each quoted as a name)."""
    text = source_sql(name, source, extra)
    for stmt in _split(text):
        used = {k: v for k, v in (params or {}).items() if f"${k}" in stmt}
        con.execute(stmt, used) if used else con.execute(stmt)


def query_source(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source: Source,
    params: Mapping[str, Any] | None = None,
) -> duckdb.DuckDBPyRelation:
    """A one-statement SELECT template for one source as a relation (fetch once)."""
    stmt = source_sql(name, source).strip().rstrip(";")
    used = {k: v for k, v in (params or {}).items() if f"${k}" in stmt}
    return con.sql(stmt, params=used) if used else con.sql(stmt)


@contextmanager
def connect(
    path: Path, read_only: bool = False, memory_limit: str | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse file opened (its tables made if missing), DuckDB held to `memory_limit`
    (default HEARTH_DUCKDB_MEMORY: `settings.duckdb_memory_limit`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    limit = memory_limit or settings.duckdb_memory_limit()
    run_sql(con, "warehouse/session", {"memory_limit": limit})
    try:
        if not read_only:
            run_sql(con, "ingest/schema")
            run_sql(con, "ingest/raw_tables")
            for source in SOURCES.values():  # raw_<source>, typed as its contract says
                run_source_sql(con, "ingest/raw_table", source)
                # a warehouse made before the token columns (issue 25) gains them
                for column in source.tokens:
                    run_source_sql(con, "ingest/raw_table_token", source, extra={"column": column})
            run_sql(con, "quality/retention_schema")  # what retention deleted, counted
        yield con
    finally:
        con.close()


# An attached warehouse's name in a union, and a table of it: the only names a union puts in SQL
_PART = re.compile(r"part_[0-9]+\.[a-z_][a-z0-9_]*")


def _union_view(table: str, parts: list[str]) -> str:
    """sql/warehouse/union_view.sql for one table: its name quoted (`hearth.sources.quote`),
    the attached tables as a list of text, each checked to be `part_<n>.<name>`."""
    names = [f"{p}.{table}" for p in parts]
    if not all(_PART.fullmatch(n) for n in names):
        raise ValueError(f"{table!r} is not a table name a union of warehouses reads.")
    listed = "[" + ", ".join(f"'{n}'" for n in names) + "]"
    filled = {"table": quote(table), "parts": listed}
    return _PLACEHOLDER.sub(lambda m: filled[m.group(1)], sql_text("warehouse/union_view"))


def union_parts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, Path]]:
    """The warehouses a union (`union_of`) reads, as (attached name, file) in the order they
    were given; empty for a connection to one warehouse."""
    rows = query(con, "warehouse/union_parts").fetchall()
    return sorted(((name, Path(path)) for name, path in rows), key=lambda r: int(r[0][5:]))


@contextmanager
def union_of(paths: Sequence[Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    """Several warehouses read as one, none written: an in-memory database with each file
    attached read only, and each table any of them holds a view of the rows of all that hold
    it (matched by column name). Whatever reads one warehouse reads the union the same way: a
    partnership's model is trained from its authorities' feature sets like this
    (hearth/operations/partnership_model.py), each authority's file opened read only."""
    con = duckdb.connect()
    run_sql(con, "warehouse/session", {"memory_limit": settings.duckdb_memory_limit()})
    try:
        for i, path in enumerate(paths):
            if not Path(path).is_file():
                raise FileNotFoundError(f"The warehouse {path} is not there to be read.")
            part = f"part_{i:d}"  # a name made here, never read from a file or a caller
            attach = _PLACEHOLDER.sub(lambda _, p=part: p, sql_text("warehouse/union_attach"))
            con.execute(attach, {"path": str(path)})
        for table, parts in query(con, "warehouse/union_tables").fetchall():
            con.execute(_union_view(table, list(parts)))
        yield con
    finally:
        con.close()
