-- For each loaded source-month: rows received against rows found in the warehouse, accepted
-- (in raw_<source>) plus quarantined. A mismatch means a row went missing.
WITH accepted AS (
    SELECT 'addresses' AS source, _extract_month AS extract_month, count(*) AS n FROM raw_addresses GROUP BY ALL
    UNION ALL SELECT 'people', _extract_month, count(*) FROM raw_people GROUP BY ALL
    UNION ALL SELECT 'social_care', _extract_month, count(*) FROM raw_social_care GROUP BY ALL
    UNION ALL SELECT 'health', _extract_month, count(*) FROM raw_health GROUP BY ALL
    UNION ALL SELECT 'fire', _extract_month, count(*) FROM raw_fire GROUP BY ALL
    UNION ALL SELECT 'police', _extract_month, count(*) FROM raw_police GROUP BY ALL
),
held AS (
    SELECT source, extract_month, count(*) AS n FROM quarantine GROUP BY ALL
),
-- rows retention deleted since the month was loaded (sql/quality/retention_*.sql) still count
expired AS (
    SELECT r.source, r.extract_month,
           sum(r.rows) FILTER (WHERE r.kind = 'accepted') AS accepted,
           sum(r.rows) FILTER (WHERE r.kind = 'quarantined') AS quarantined
    FROM retention_log r
    JOIN ingest_log l USING (source, extract_month)
    WHERE r.ran_at >= l.ingested_at
    GROUP BY ALL
)
SELECT
    l.source, l.extract_month, l.rows_received,
    (coalesce(a.n, 0) + coalesce(e.accepted, 0))::BIGINT AS rows_accepted,
    (coalesce(h.n, 0) + coalesce(e.quarantined, 0))::BIGINT AS rows_quarantined
FROM ingest_log l
LEFT JOIN accepted a USING (source, extract_month)
LEFT JOIN held h USING (source, extract_month)
LEFT JOIN expired e USING (source, extract_month)
WHERE l.source = $source
ORDER BY l.extract_month
