-- Households whose own records changed between last month's date and this month's: agency
-- records counted at this date and not at the last (dated, or arrived in an extract, since),
-- and households someone moved into or out of.
SELECT
    household_pid,
    bool_or(kind = 'records') AS new_records,
    bool_or(kind = 'moved') AS moved
FROM (
    SELECT household_pid, 'records' AS kind
    FROM linked_events
    WHERE household_pid IS NOT NULL
      AND event_date < $as_of
      AND arrival_month < $as_of_month
      AND (event_date >= $previous OR arrival_month >= $previous_month)
    UNION ALL
    SELECT household_pid, 'moved'
    FROM residence
    WHERE (valid_from >= $previous AND valid_from < $as_of)
       OR (valid_to >= $previous AND valid_to < $as_of)
)
GROUP BY household_pid
