"""The DuckDB warehouse: one file, one writer, SQL kept in `sql/` and run with bound parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from hearth import settings
from hearth.settings import SQL_DIR


@cache
def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql` (name may include a sub-folder, e.g. `ingest/ledger`)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """The statements of a SQL file, split on `;` at line ends (our files keep one per block)."""
    parts = [p.strip() for p in sql_text(name).split(";\n")]
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


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    run_sql(con, "warehouse/session", {"memory_limit": settings.duckdb_memory_limit()})
    try:
        if not read_only:
            run_sql(con, "ingest/schema")
            run_sql(con, "ingest/raw_tables")
            run_sql(con, "quality/retention_schema")  # what retention deleted, counted
        yield con
    finally:
        con.close()
