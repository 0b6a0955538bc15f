-- The warehouses attached for a union (hearth/warehouse.py: union_of): each attached name and
-- the file it reads; none when the connection is one warehouse's own.
SELECT database_name, path
FROM duckdb_databases()
WHERE database_name LIKE 'part\_%' ESCAPE '\'
