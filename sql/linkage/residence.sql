-- Where each person lived, as intervals: from each register record's effective date to the
-- next one's. A LEFT_AREA record ends the stay with no household.
CREATE OR REPLACE TABLE residence AS
WITH ordered AS (
    SELECT
        person_pid, household_pid, status, effective_date, birth_year, sex, ethnic_group,
        _extract_month AS arrival_month,
        row_number() OVER (
            PARTITION BY person_pid, effective_date ORDER BY _extract_month DESC, _row_number DESC
        ) AS newest
    FROM {person_register}
)
SELECT
    person_pid,
    CASE WHEN status = 'RESIDENT' THEN household_pid END AS household_pid,
    status,
    effective_date AS valid_from,
    lead(effective_date) OVER (PARTITION BY person_pid ORDER BY effective_date) AS valid_to,
    birth_year, sex, ethnic_group, arrival_month
FROM ordered
WHERE newest = 1;
CREATE OR REPLACE TABLE households AS
SELECT
    household_pid, la_code, ward_code, lsoa_code, imd_decile, property_type, tenure,
    _extract_month AS arrival_month
FROM {household_register}
QUALIFY row_number() OVER (
    PARTITION BY household_pid ORDER BY updated_date DESC, _extract_month DESC, _row_number DESC
) = 1
