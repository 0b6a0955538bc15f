-- The tables of the warehouses attached for a union (hearth/warehouse.py: union_of), each with
-- the attached names that hold it.
SELECT table_name, list(database_name ORDER BY database_name) AS parts
FROM duckdb_tables()
WHERE schema_name = 'main' AND database_name LIKE 'part\_%' ESCAPE '\'
GROUP BY table_name
ORDER BY table_name
