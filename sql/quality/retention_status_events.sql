-- Template, for each event source: the oldest date retention is counted from among its records
-- still held (the event's date), and how many there are.
SELECT min({date_column}) AS oldest, count(*) AS rows FROM {raw_table}
