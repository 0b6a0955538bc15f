-- Rows received, accepted and quarantined per source, over every loaded month.
SELECT source,
       count(*) AS months,
       min(extract_month) AS first_month,
       max(extract_month) AS latest_month,
       sum(rows_received)::BIGINT AS rows_received,
       sum(rows_accepted)::BIGINT AS rows_accepted,
       sum(rows_quarantined)::BIGINT AS rows_quarantined
FROM ingest_log
GROUP BY source
ORDER BY source
