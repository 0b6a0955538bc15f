-- The last linkage run's measures of one warehouse attached to a union ($table:
-- part_<n>.linkage_measures, named by hearth/warehouse.py: union_parts), bound, not written in.
SELECT measures::VARCHAR FROM query_table($table)
