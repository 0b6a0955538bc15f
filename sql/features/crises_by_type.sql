-- The outcome by crisis type: each household's crises of each type (the agency that records
-- them: health's emergency admissions, fire's dwelling fires, police's high-risk domestic abuse,
-- social care's child protection plans and children becoming looked after) in the 12 months
-- from the as-of date, counted as labels.sql counts them.
SELECT household_pid, source AS crisis_type, count(*) AS crises
FROM linked_events
WHERE is_crisis
  AND household_pid IS NOT NULL
  AND event_date >= $as_of
  AND event_date < $as_of + INTERVAL 12 MONTH
GROUP BY household_pid, source
