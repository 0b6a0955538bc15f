-- Per household and catalogue feature: counts of linked events in the windows before the
-- as-of date and months since the latest. Only events dated strictly before the as-of date
-- that had arrived in an extract before the as-of month count: a late record cannot leak
-- backwards into a model trained at that date.
SELECT
    l.household_pid,
    m.feature_key,
    count(*) FILTER (WHERE l.event_date >= $as_of - INTERVAL 3 MONTH) AS c3,
    count(*) FILTER (WHERE l.event_date >= $as_of - INTERVAL 6 MONTH) AS c6,
    count(*) FILTER (WHERE l.event_date >= $as_of - INTERVAL 12 MONTH) AS c12,
    count(*) FILTER (WHERE l.event_date >= $as_of - INTERVAL 24 MONTH) AS c24,
    count(*) FILTER (
        WHERE l.event_date >= $as_of - INTERVAL 24 MONTH AND l.event_date < $as_of - INTERVAL 12 MONTH
    ) AS c12_before,
    count(*) AS c36,
    date_diff('month', max(l.event_date), $as_of) AS months_since
FROM linked_events l
JOIN feature_event_map m ON l.event_code = m.event_code
WHERE l.household_pid IS NOT NULL
  AND l.event_date < $as_of
  AND l.event_date >= $as_of - INTERVAL 36 MONTH
  AND l.arrival_month < $as_of_month
GROUP BY ALL
