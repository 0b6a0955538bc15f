-- The files of the warehouses attached for a union (hearth/warehouse.py: union_of), in order.
SELECT path FROM duckdb_databases()
WHERE database_name LIKE 'part\_%' ESCAPE '\'
ORDER BY CAST(substr(database_name, 6) AS INTEGER)
