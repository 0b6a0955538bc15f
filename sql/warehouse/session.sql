-- Per-connection settings: pipeline logs are not a terminal, and DuckDB's cache is bounded so
-- the whole run stays well under the machine (DuckDB's default is 80% of memory).
SET enable_progress_bar = false;
SET memory_limit = $memory_limit
