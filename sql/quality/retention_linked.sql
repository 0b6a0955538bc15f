-- The linkage's tables, made from the raw tables, lose the same records at once (linkage
-- rebuilds them from what is left, but a run stopped before it keeps these as they are).
DELETE FROM events WHERE source = $source AND event_date < $cutoff
RETURNING arrival_month AS month;
DELETE FROM linked_events WHERE source = $source AND event_date < $cutoff
RETURNING arrival_month AS month;
-- a stay that ended before the cut-off, or a departure before it
DELETE FROM residence WHERE $source = 'people'
  AND (valid_to < $cutoff OR (status = 'LEFT_AREA' AND valid_from < $cutoff))
RETURNING arrival_month AS month;
-- a household whose register rows have all gone
DELETE FROM households WHERE $source = 'addresses'
  AND household_pid NOT IN (SELECT household_pid FROM raw_addresses)
RETURNING arrival_month AS month
