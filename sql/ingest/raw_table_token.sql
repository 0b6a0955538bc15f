-- Template (hearth/warehouse.py: connect): a token column of the source's contract (issue 25)
-- added to a raw table made before it; ingest inserts by column name, so its place after
-- _extract_month does not matter.
ALTER TABLE {raw_table} ADD COLUMN IF NOT EXISTS {column} VARCHAR;
