-- Per address-only source: records without an exact key, how many the premise linked, and how
-- often such a link was right where an exact key says (the probability they were given).
SELECT
    a.source,
    count(*) FILTER (WHERE a.needs_link) AS needing,
    count(*) FILTER (WHERE a.needs_link AND le.link_status = 'linked_by_tokens') AS linked,
    any_value(k.labelled) AS labelled,
    any_value(k.right_links) AS right_links,
    any_value(k.link_probability) AS link_probability
FROM address_records a
LEFT JOIN address_calibration k ON k.source = a.source
LEFT JOIN (SELECT DISTINCT source, record_id, link_status FROM linked_events) le
    ON le.source = a.source AND le.record_id = a.record_id
GROUP BY a.source
ORDER BY a.source
