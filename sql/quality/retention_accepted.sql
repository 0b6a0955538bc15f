-- Accepted rows past their contract's retention ($cutoff: the first day still kept), one
-- statement per source, each touching only the table of the source named by $source.
-- Events go by their event date (the contracts' retention `element`).
DELETE FROM raw_social_care WHERE $source = 'social_care' AND event_date < $cutoff
RETURNING _extract_month AS month;
DELETE FROM raw_health WHERE $source = 'health' AND event_date < $cutoff
RETURNING _extract_month AS month;
DELETE FROM raw_fire WHERE $source = 'fire' AND event_date < $cutoff
RETURNING _extract_month AS month;
DELETE FROM raw_police WHERE $source = 'police' AND event_date < $cutoff
RETURNING _extract_month AS month;
-- A register row is the truth from its date until the next row for the same key: it goes once
-- it stopped being true before the cut-off (a newer row dated before it). The current row of a
-- household or person stays while it is current, however old its date: it is the register.
DELETE FROM raw_addresses a WHERE $source = 'addresses' AND EXISTS (
    SELECT 1 FROM raw_addresses b
    WHERE b.household_pid = a.household_pid AND b.updated_date < $cutoff
      AND (b.updated_date, b._extract_month, b._row_number)
          > (a.updated_date, a._extract_month, a._row_number)
)
RETURNING _extract_month AS month;
DELETE FROM raw_people a WHERE $source = 'people' AND EXISTS (
    SELECT 1 FROM raw_people b
    WHERE b.person_pid = a.person_pid AND b.effective_date < $cutoff
      AND (b.effective_date, b._extract_month, b._row_number)
          > (a.effective_date, a._extract_month, a._row_number)
)
RETURNING _extract_month AS month;
-- A person who left the area before the cut-off: the departure is their current row, and it
-- goes too (what went before it went by the rule above).
DELETE FROM raw_people a WHERE $source = 'people' AND a.status = 'LEFT_AREA'
  AND a.effective_date < $cutoff
  AND NOT EXISTS (
    SELECT 1 FROM raw_people b
    WHERE b.person_pid = a.person_pid
      AND (b.effective_date, b._extract_month, b._row_number)
          > (a.effective_date, a._extract_month, a._row_number)
)
RETURNING _extract_month AS month
