-- How many earlier months of a source are loaded: a register's first month is its baseline.
SELECT count(*) FROM ingest_log
WHERE source = $source AND extract_month < $month AND status = 'loaded'
