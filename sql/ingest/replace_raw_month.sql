-- Template, run for the source being (re)loaded with sql/ingest/replace_month.sql: clear its
-- accepted rows of one extract month.
DELETE FROM {raw_table} WHERE _extract_month = $month;
