DELETE FROM batch_refusals WHERE source = $source AND extract_month = $month;
INSERT INTO batch_refusals VALUES (
    $source, $month, $file_name, $sha256, $rows_received, $rule, $column_name, $message,
    now()::TIMESTAMP
)
