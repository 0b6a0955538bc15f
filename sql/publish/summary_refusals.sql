SELECT source, extract_month, file_name, rule, column_name, message
FROM batch_refusals
ORDER BY source, extract_month
