-- The outcome: did the household have a crisis (emergency admission, dwelling fire, high-risk
-- domestic abuse, child protection plan or a child becoming looked after) in the 12 months
-- from the as-of date? Counted from every record received, whenever it arrived. The first
-- crisis month is for safe updating (hearth/modelling/training/safe_updating.py): a listed
-- household's crisis before its first listing is one the list did not change.
SELECT household_pid, count(*) AS crises, strftime(min(event_date), '%Y-%m') AS first_month
FROM linked_events
WHERE is_crisis
  AND household_pid IS NOT NULL
  AND event_date >= $as_of
  AND event_date < $as_of + INTERVAL 12 MONTH
GROUP BY household_pid
