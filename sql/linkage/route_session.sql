-- The partnership's routing connection (hearth/linkage/partnership.py: route), after
-- sql/warehouse/session.sql: DuckDB's allocator hands memory its queries freed back to the
-- system from a background thread. Without it the routing process kept what its largest query
-- had used (the person register's first month routed: 0.7 GB at 300,000 households, freed
-- inside DuckDB) under the Polars frames that came after (docs/performance.md).
SET allocator_background_threads = true
