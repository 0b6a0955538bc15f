INSERT INTO retention_log
SELECT $ran_at, source, table_name, kind, month, rows, cutoff, retention_months
FROM retention_frame
