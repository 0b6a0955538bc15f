-- Clear one source's month before its (re)load, so that re-landing a file replaces that month.
-- The source's accepted rows are cleared first by sql/ingest/replace_raw_month.sql.
DELETE FROM quarantine WHERE source = $source AND extract_month = $month;
DELETE FROM batch_refusals WHERE source = $source AND extract_month = $month;
DELETE FROM ingest_log WHERE source = $source AND extract_month = $month;
