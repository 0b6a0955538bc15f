-- The months of a source the warehouse holds as loaded, with the identity of their bytes and
-- their rows (what a removal would take out).
SELECT extract_month, sha256, rows_accepted, rows_quarantined
FROM ingest_log
WHERE source = $source AND status = 'loaded'
ORDER BY extract_month
