-- Per household and source: the expected count of the records the catalogue counts in the
-- `$window` months before the as-of date, and the part of it linked with less than high
-- confidence (link_probability below $high, the catalogue's link_confidence). The same records
-- as sql/features/event_counts.sql: dated before the as-of date, arrived before its month.
SELECT
    l.household_pid,
    l.source,
    sum(l.link_probability) AS expected,
    coalesce(sum(l.link_probability) FILTER (WHERE l.link_probability < $high), 0) AS uncertain
FROM linked_events l
JOIN feature_event_map m ON l.event_code = m.event_code
WHERE l.household_pid IS NOT NULL
  AND l.event_date < $as_of
  AND l.event_date >= $as_of - to_months($window)
  AND l.arrival_month < $as_of_month
GROUP BY ALL
