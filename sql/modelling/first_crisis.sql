-- Each household's first crisis month in the label window of $as_of (the crises of
-- sql/features/labels.sql: the 12 months from the as-of date). Safe updating keeps a listed
-- household's crisis when it came before the household's first listing: the list did not change it.
SELECT household_pid, strftime(min(event_date), '%Y-%m') AS first_month
FROM linked_events
WHERE is_crisis
  AND household_pid IS NOT NULL
  AND event_date >= $as_of
  AND event_date < $as_of + INTERVAL 12 MONTH
GROUP BY household_pid
