-- Template, for one event source: record ids of the incoming extract (registered as
-- incoming_ids) already accepted for the same source from an earlier extract month (a late
-- duplicate). Only earlier months count, so the copy in the first month that sent a record
-- stands, whatever order months are (re)loaded in; when a month is replaced, the later months
-- are judged again (hearth/ingest/run.py).
-- A semi-join in DuckDB: only the few ids that repeat come back, however many months are loaded.
SELECT DISTINCT i.record_id FROM incoming_ids i
WHERE i.record_id IN (SELECT {record_key} FROM {raw_table} WHERE _extract_month < $month)
