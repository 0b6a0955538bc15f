-- Rows received in each accepted month of a source before the month being judged, oldest first
-- (hearth/ingest/volume.py judges a month against them, as the source's contract says).
SELECT extract_month, rows_received
FROM ingest_log
WHERE source = $source AND extract_month < $month
ORDER BY extract_month
