SELECT source, extract_month, file_name, rows_received, rows_accepted, rows_quarantined
FROM ingest_log
ORDER BY source, extract_month
