-- The partnership's routing (hearth/linkage/partnership.py: route), once the landing is
-- ingested and linked, before the authorities' extracts are written: DuckDB is held to the
-- routing's own budget (HEARTH_ROUTING_DUCKDB_MEMORY). While it writes, the process also holds
-- each extract's frames (the person register's first month is the whole register), so what
-- DuckDB keeps is bounded more tightly then; lowering the limit evicts what the linkage left
-- to the routing's spill folder. The ingest and the linkage run under the warehouse's budget
-- (HEARTH_DUCKDB_MEMORY): at 1,000,000 households the token linkage's gathering needs more
-- than 2 GB and does not spill.
SET memory_limit = $memory_limit
