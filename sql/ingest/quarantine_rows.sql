-- Quarantined rows of one source-month as received (pseudonymised), in file order.
SELECT row_number, rule, column_name, row_json, file_name, quarantined_at
FROM quarantine
WHERE source = $source AND extract_month = $month AND ($rule IS NULL OR rule = $rule)
ORDER BY row_number
LIMIT $limit
