-- Template, run for each month of the person register (hearth/linkage/partnership.py): a row
-- goes to the authority of the household it names and to the authority of the household the
-- person lived in before it, so a move between authorities closes the stay in the one left and
-- opens it in the one joined (a departure, with no household, goes to the one left). A row with
-- neither goes to the person's first authority, whose ingest judges it; one no register knows
-- has no authority.
WITH incoming_rows AS (
    SELECT
        _row,
        {register_key}::VARCHAR AS person_pid,
        household_pid::VARCHAR AS household_key,
        TRY_CAST({date_column} AS DATE) AS on_date
    FROM incoming
),
targets AS (
    SELECT i._row, h.la_code AS authority
    FROM incoming_rows i
    JOIN households h ON i.household_key = h.household_pid
    UNION
    SELECT i._row, s.la_code AS authority
    FROM incoming_rows i
    ASOF JOIN route_stays s ON i.person_pid = s.person_pid AND i.on_date > s.valid_from
)
SELECT
    i._row,
    coalesce(t.authority, f.la_code) AS authority,
    CASE WHEN i.person_pid IS NULL THEN 'no_key' ELSE 'unknown_pid' END AS reason
FROM incoming_rows i
LEFT JOIN targets t ON i._row = t._row
LEFT JOIN route_first f ON i.person_pid = f.person_pid
ORDER BY i._row, authority
