-- Template, for each event source: accepted rows past its contract's retention ($cutoff: the
-- first day still kept), by the event's date (the contract's retention `element`).
DELETE FROM {raw_table} WHERE {date_column} < $cutoff
RETURNING _extract_month AS month
