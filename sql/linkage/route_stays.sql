-- The partnership's routing (hearth/linkage/partnership.py), from the partnership's registers
-- after sql/linkage/residence.sql: each person's stays in a household with that household's
-- authority, and the authority of each person's first stay.
CREATE OR REPLACE TABLE route_stays AS
SELECT r.person_pid, r.valid_from, h.la_code
FROM residence r
JOIN households h USING (household_pid)
WHERE r.household_pid IS NOT NULL;
CREATE OR REPLACE TABLE route_first AS
SELECT person_pid, arg_min(la_code, valid_from) AS la_code
FROM route_stays
GROUP BY person_pid;
