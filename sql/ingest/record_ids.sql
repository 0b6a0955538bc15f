-- Record ids of the incoming extract (registered as incoming_ids) already accepted for the same
-- source from an earlier extract month (a late duplicate). Only earlier months count, so the
-- copy in the first month that sent a record stands, whatever order months are (re)loaded in;
-- when a month is replaced, the later months are judged again (hearth/ingest/run.py).
-- A semi-join in DuckDB: only the few ids that repeat come back, however many months are loaded.
SELECT DISTINCT i.record_id FROM incoming_ids i
WHERE $source = 'social_care' AND i.record_id IN (
    SELECT record_id FROM raw_social_care WHERE _extract_month < $month)
UNION ALL
SELECT DISTINCT i.record_id FROM incoming_ids i
WHERE $source = 'health' AND i.record_id IN (
    SELECT record_id FROM raw_health WHERE _extract_month < $month)
UNION ALL
SELECT DISTINCT i.record_id FROM incoming_ids i
WHERE $source = 'fire' AND i.record_id IN (
    SELECT record_id FROM raw_fire WHERE _extract_month < $month)
UNION ALL
SELECT DISTINCT i.record_id FROM incoming_ids i
WHERE $source = 'police' AND i.record_id IN (
    SELECT record_id FROM raw_police WHERE _extract_month < $month)
