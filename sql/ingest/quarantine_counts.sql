-- Quarantined rows by source, extract month, rule and column, with the rows received that month.
SELECT q.source, q.extract_month, q.rule, q.column_name, count(*) AS rows,
       any_value(l.rows_received) AS rows_received, any_value(q.file_name) AS file_name
FROM quarantine q
LEFT JOIN ingest_log l USING (source, extract_month)
WHERE ($source IS NULL OR q.source = $source)
  AND ($month IS NULL OR q.extract_month = $month)
GROUP BY q.source, q.extract_month, q.rule, q.column_name
ORDER BY q.source, q.extract_month, q.rule, q.column_name
