-- Per household and catalogue feature: expected counts of linked events in the windows before
-- the as-of date and months since the latest. Each record counts by how surely it belongs to the
-- household (link_probability: 1 for an exact key, so with exact keys these are plain counts).
-- Only events dated strictly before the as-of date that had arrived in an extract before the
-- as-of month count: a late record cannot leak backwards into a model trained at that date.
SELECT
    l.household_pid,
    m.feature_key,
    coalesce(sum(l.link_probability) FILTER (WHERE l.event_date >= $as_of - INTERVAL 3 MONTH), 0) AS c3,
    coalesce(sum(l.link_probability) FILTER (WHERE l.event_date >= $as_of - INTERVAL 6 MONTH), 0) AS c6,
    coalesce(sum(l.link_probability) FILTER (WHERE l.event_date >= $as_of - INTERVAL 12 MONTH), 0) AS c12,
    coalesce(sum(l.link_probability) FILTER (WHERE l.event_date >= $as_of - INTERVAL 24 MONTH), 0) AS c24,
    coalesce(sum(l.link_probability) FILTER (
        WHERE l.event_date >= $as_of - INTERVAL 24 MONTH AND l.event_date < $as_of - INTERVAL 12 MONTH
    ), 0) AS c12_before,
    sum(l.link_probability) AS c36,
    date_diff('month', max(l.event_date), $as_of) AS months_since
FROM linked_events l
JOIN feature_event_map m ON l.event_code = m.event_code
WHERE l.household_pid IS NOT NULL
  AND l.event_date < $as_of
  AND l.event_date >= $as_of - INTERVAL 36 MONTH
  AND l.arrival_month < $as_of_month
GROUP BY ALL
