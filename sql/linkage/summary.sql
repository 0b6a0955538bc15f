-- Linkage counts per source and arrival month, by outcome.
SELECT source, arrival_month AS extract_month, link_status, count(*) AS events
FROM linked_events
GROUP BY ALL
ORDER BY ALL
