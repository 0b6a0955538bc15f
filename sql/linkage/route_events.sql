-- Template, run for each event extract of the partnership's landing (hearth/linkage/partnership.py):
-- the authority each row goes to, by linkage's rule (sql/linkage/linked_events.sql) on the
-- partnership's registers: the household the agency named, else the one the person lived in on
-- the event's date. A person who had left the area goes to the authority they left (its linkage
-- counts the event unlinked, as one warehouse did); a date before the person's first stay, or
-- one that is not a date, to their first stay's authority (whose ingest judges the row). A row
-- that no register knows has no authority, and its reason.
WITH incoming_rows AS (
    SELECT
        _row,
        {person_key}::VARCHAR AS person_pid,
        {household_key}::VARCHAR AS household_key,
        TRY_CAST({date_column} AS DATE) AS on_date
    FROM incoming
)
SELECT
    i._row,
    coalesce(h.la_code, s.la_code, f.la_code) AS authority,
    CASE
        WHEN i.person_pid IS NULL AND i.household_key IS NULL THEN 'no_key'
        ELSE 'unknown_pid'
    END AS reason
FROM incoming_rows i
LEFT JOIN households h ON i.household_key = h.household_pid
ASOF LEFT JOIN route_stays s ON i.person_pid = s.person_pid AND i.on_date >= s.valid_from
LEFT JOIN route_first f ON i.person_pid = f.person_pid
ORDER BY i._row
