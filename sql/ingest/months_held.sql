-- Every month the warehouse holds anything for, for one source: loaded months and refusals.
SELECT extract_month FROM ingest_log WHERE source = $source
UNION
SELECT extract_month FROM batch_refusals WHERE source = $source
ORDER BY extract_month
