"""Great Expectations on DuckDB: the shim GX 1.x needs, kept in one place.

GX's SQL data source (SQLAlchemy plus the `duckdb-engine` dialect) does not work on DuckDB as
shipped (checked with GX 1.24.1, duckdb 2.0.1, duckdb-engine 0.17, SQLAlchemy 2.1):

1. Every expectation ends in `MetricResolutionError: list index out of range`, because
   `SqlAlchemyExecutionEngine.execute_query` returns the cursor result after its connection
   has closed and duckdb-engine results are not buffered, so `fetchall()` sees no rows.
   Upstream: great-expectations issues #11579 and #10738; a native DuckDB execution engine is
   proposed in great-expectations PR #12084 (not released). Fix: buffer the result (`freeze()`)
   while the connection is still open.
2. `expect_column_values_to_match_regex` fails with "Regex is not supported for dialect
   duckdb": GX chooses its regex SQL by dialect and has no DuckDB case. DuckDB understands
   PostgreSQL's `~` operator (a partial match, as in PostgreSQL), so the engine is pointed at
   GX's PostgreSQL regex SQL.

Both fixes are applied to one execution engine instance, never to GX's classes, so nothing
else in the process changes. `tests/unit/quality/test_expectations.py` checks that without the shim
the bug
still shows: when that test fails, GX has fixed it upstream and this module can be simplified.

GX is imported inside functions only: `import great_expectations` takes seconds.
"""

from __future__ import annotations

import logging
import os
import types
from typing import Any

import duckdb


def gx_context() -> Any:
    """An ephemeral GX context with analytics and progress bars off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # great_expectations
    from great_expectations.data_context.types.base import ProgressBarsConfig  # great_expectations

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _buffered_execute_query(self: Any, query: Any) -> Any:
    # Same as SqlAlchemyExecutionEngine.execute_query, but the rows are fetched (frozen) before
    # the connection closes. See the module docstring for the upstream issues.
    with self.get_connection() as connection:
        result = self._execute_query_with_recovery(connection, query)
        return result.freeze()() if result.returns_rows else result


def buffer_results(execution_engine: Any) -> None:
    """Fix 1: fetch query results before GX's connection closes."""
    execution_engine.execute_query = types.MethodType(_buffered_execute_query, execution_engine)


def enable_regex(execution_engine: Any) -> None:
    """Fix 2: use GX's PostgreSQL regex SQL (`~`), which DuckDB understands."""
    import sqlalchemy as sa  # sqlalchemy

    execution_engine.dialect_module = sa.dialects.postgresql


def apply_shim(execution_engine: Any) -> None:
    """Make one GX SqlAlchemyExecutionEngine work on DuckDB (both fixes)."""
    buffer_results(execution_engine)
    enable_regex(execution_engine)


def raised_exception(exception_info: dict | None) -> bool:
    """Whether a GX expectation result records an exception (GX nests them by metric)."""
    if not exception_info:
        return False
    if exception_info.get("raised_exception"):
        return True
    return any(isinstance(v, dict) and v.get("raised_exception") for v in exception_info.values())


def duckdb_datasource(
    context: Any, con: duckdb.DuckDBPyConnection, *, shim: bool = True, schema: str | None = None
) -> Any:
    """A GX SQL data source reading through `con` (an open DuckDB connection) via duckdb-engine.

    GX's own engines use cursors of `con`, so they share its database instance: no second
    connection with a different configuration is opened (DuckDB refuses that in one process).
    With `schema`, each cursor's search path is that schema: GX's column reflection ignores a
    table asset's schema_name on DuckDB, so tables are named without it.
    """
    import duckdb_engine  # duckdb_engine

    def creator() -> Any:
        cursor = con.cursor()
        if schema:
            cursor.execute("SET search_path = $schema", {"schema": schema})
        return duckdb_engine.ConnectionWrapper(cursor)

    datasource = context.data_sources.add_sql(
        name="hearth_duckdb",
        connection_string="duckdb:///:memory:",
        kwargs={"creator": creator},
    )
    if shim:
        apply_shim(datasource.get_execution_engine())
    return datasource


def close_datasource(datasource: Any) -> None:
    """Close the cursors GX's engines hold (the caller's connection stays open)."""
    datasource.get_execution_engine().engine.dispose()
    datasource.get_engine().dispose()
