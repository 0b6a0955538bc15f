-- Template, run for each month of the household register (hearth/linkage/partnership.py): a row
-- goes to the authority its household is in by the register's newest accepted record (so a
-- correction whose la_code is broken reaches the authority whose ingest judges it), else to the
-- one the row itself names.
SELECT
    i._row,
    coalesce(h.la_code, i.la_code::VARCHAR) AS authority,
    CASE WHEN i.{register_key} IS NULL THEN 'no_key' ELSE 'unknown_household' END AS reason
FROM incoming i
LEFT JOIN households h ON i.{register_key}::VARCHAR = h.household_pid
ORDER BY i._row
