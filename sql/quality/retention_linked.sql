-- The linkage's tables, made from the raw tables, lose the same records at once (linkage
-- rebuilds them from what is left, but a run stopped before it keeps these as they are).
DELETE FROM events WHERE source = $source AND event_date < $cutoff
RETURNING arrival_month AS month;
DELETE FROM linked_events WHERE source = $source AND event_date < $cutoff
RETURNING arrival_month AS month
