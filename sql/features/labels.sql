-- The outcome: did the household have a crisis (emergency admission, dwelling fire, high-risk
-- domestic abuse, child protection plan or a child becoming looked after) in the 12 months
-- from the as-of date? Counted from every record received, whenever it arrived.
SELECT household_pid, count(*) AS crises
FROM linked_events
WHERE is_crisis
  AND household_pid IS NOT NULL
  AND event_date >= $as_of
  AND event_date < $as_of + INTERVAL 12 MONTH
GROUP BY household_pid
