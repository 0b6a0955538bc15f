-- Template, run for each event extract of the partnership's landing (hearth/linkage/partnership.py):
-- the authority each row goes to, by linkage's rule (sql/linkage/linked_events.sql) on the
-- partnership's registers: the household the agency named, else the one the person lived in on
-- the event's date. A person who had left the area goes to the authority they left (its linkage
-- counts the event unlinked, as one warehouse did); a date before the person's first stay, or
-- one that is not a date, to their first stay's authority (whose ingest judges the row). A row
-- no exact key places goes where the partnership's own linkage of its whole landing put its
-- record (sql/linkage/route_tokens.sql: tokens, then address-only records), else nowhere, with
-- that linkage's reason; a keyless row the partnership's ingest refused has no link
-- (`refused_by_contract`).
WITH incoming_rows AS (
    SELECT
        _row,
        {record_key}::VARCHAR AS record_id,
        {person_key}::VARCHAR AS person_pid,
        {household_key}::VARCHAR AS household_key,
        TRY_CAST({date_column} AS DATE) AS on_date
    FROM incoming
)
SELECT
    i._row,
    coalesce(h.la_code, s.la_code, f.la_code, t.la_code) AS authority,
    CASE
        WHEN t.reason IS NOT NULL THEN t.reason
        WHEN i.person_pid IS NOT NULL OR i.household_key IS NOT NULL THEN 'unknown_pid'
        WHEN t.record_id IS NULL THEN 'refused_by_contract'
        ELSE 'no_key'
    END AS reason
FROM incoming_rows i
LEFT JOIN households h ON i.household_key = h.household_pid
ASOF LEFT JOIN route_stays s ON i.person_pid = s.person_pid AND i.on_date >= s.valid_from
LEFT JOIN route_first f ON i.person_pid = f.person_pid
LEFT JOIN route_tokens t ON t.source = $source AND t.record_id = i.record_id
ORDER BY i._row
