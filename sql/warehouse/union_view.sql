-- One table of several warehouses as one view (hearth/warehouse.py: union_of): the rows of
-- every attached warehouse that holds it, matched by column name (a column one lacks is NULL).
CREATE VIEW {table} AS SELECT * FROM query_table({parts}, true)
