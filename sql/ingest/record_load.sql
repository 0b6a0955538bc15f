INSERT INTO quarantine
SELECT $source, $month, file_name, _row_number, rule, column_name, now()::TIMESTAMP, row_json
FROM quarantined_rows;
INSERT INTO ingest_log VALUES (
    $source, $month, $file_name, $sha256, $rows_received, $rows_accepted, $rows_quarantined,
    'loaded', NULL, now()::TIMESTAMP
)
