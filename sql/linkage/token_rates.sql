-- Per source: records without an exact key that carry tokens, how many the tokens linked, and
-- their mean link probability.
SELECT
    r.source,
    count(*) AS needing,
    count(*) FILTER (WHERE le.link_status = 'linked_by_tokens') AS linked,
    avg(le.link_probability) FILTER (WHERE le.link_status = 'linked_by_tokens') AS mean_probability
FROM link_records r
LEFT JOIN (SELECT DISTINCT source, record_id, link_status, link_probability FROM linked_events) le
    ON le.source = r.source AND le.record_id = r.record_id
WHERE r.needs_link
GROUP BY ALL
ORDER BY ALL
