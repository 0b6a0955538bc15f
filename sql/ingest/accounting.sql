-- Template, for one source: for each loaded month, rows received against rows found in the
-- warehouse, accepted (in its raw table) plus quarantined. A mismatch means a row went missing.
WITH accepted AS (
    SELECT _extract_month AS extract_month, count(*) AS n FROM {raw_table} GROUP BY ALL
),
held AS (
    SELECT extract_month, count(*) AS n FROM quarantine WHERE source = $source GROUP BY ALL
)
SELECT
    l.source, l.extract_month, l.rows_received,
    coalesce(a.n, 0) AS rows_accepted,
    coalesce(h.n, 0) AS rows_quarantined
FROM ingest_log l
LEFT JOIN accepted a USING (extract_month)
LEFT JOIN held h USING (extract_month)
WHERE l.source = $source
ORDER BY l.extract_month
