SELECT max(extract_month) FROM ingest_log
