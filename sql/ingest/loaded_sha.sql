SELECT sha256, rows_received, rows_accepted, rows_quarantined
FROM ingest_log WHERE source = $source AND extract_month = $month
