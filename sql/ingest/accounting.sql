-- Template, for one source: for each loaded month, rows received against rows found in the
-- warehouse, accepted (in its raw table) plus quarantined. A mismatch means a row went missing.
WITH accepted AS (
    SELECT _extract_month AS extract_month, count(*) AS n FROM {raw_table} GROUP BY ALL
),
held AS (
    SELECT extract_month, count(*) AS n FROM quarantine WHERE source = $source GROUP BY ALL
),
-- rows retention deleted since the month was loaded (sql/quality/retention_*.sql) still count
expired AS (
    SELECT r.extract_month,
           sum(r.rows) FILTER (WHERE r.kind = 'accepted') AS accepted,
           sum(r.rows) FILTER (WHERE r.kind = 'quarantined') AS quarantined
    FROM retention_log r
    JOIN ingest_log l USING (source, extract_month)
    WHERE r.source = $source AND r.ran_at >= l.ingested_at
    GROUP BY ALL
)
SELECT
    l.source, l.extract_month, l.rows_received,
    (coalesce(a.n, 0) + coalesce(e.accepted, 0))::BIGINT AS rows_accepted,
    (coalesce(h.n, 0) + coalesce(e.quarantined, 0))::BIGINT AS rows_quarantined
FROM ingest_log l
LEFT JOIN accepted a USING (extract_month)
LEFT JOIN held h USING (extract_month)
LEFT JOIN expired e USING (extract_month)
WHERE l.source = $source
ORDER BY l.extract_month
