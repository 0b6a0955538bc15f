-- The households to score at an as-of date and who lives in them, using only register records
-- that had arrived before the as-of month. A household with no one living in it is not scored
-- (its people left the area or moved away).
WITH stays AS (
    SELECT
        person_pid,
        CASE WHEN status = 'RESIDENT' THEN household_pid END AS household_pid,
        effective_date AS valid_from,
        lead(effective_date) OVER (PARTITION BY person_pid ORDER BY effective_date, _extract_month, _row_number) AS valid_to,
        birth_year, ethnic_group
    FROM {person_register}
    WHERE _extract_month < $as_of_month AND effective_date < $as_of
),
residents AS (
    SELECT household_pid, person_pid, birth_year, ethnic_group, valid_from
    FROM stays
    WHERE household_pid IS NOT NULL AND (valid_to IS NULL OR valid_to >= $as_of)
),
composition AS (
    SELECT
        household_pid,
        count(*) AS residents,
        count(*) FILTER (WHERE year($as_of) - birth_year < 18) AS children,
        count(*) FILTER (WHERE year($as_of) - birth_year >= 75) AS over_75s,
        max(year($as_of) - birth_year) AS oldest_age,
        arg_max(ethnic_group, year($as_of) * 1000 - birth_year * 1000 + hash(person_pid) % 997) AS ethnic_group,
        (count(*) FILTER (WHERE valid_from >= $as_of - INTERVAL 12 MONTH) > 0)::INT AS moved_in_last_year
    FROM residents
    GROUP BY household_pid
),
homes AS (
    SELECT household_pid, la_code, ward_code, lsoa_code, imd_decile, property_type, tenure
    FROM {household_register}
    WHERE _extract_month < $as_of_month
    QUALIFY row_number() OVER (
        PARTITION BY household_pid ORDER BY updated_date DESC, _extract_month DESC, _row_number DESC
    ) = 1
)
SELECT
    c.household_pid, h.la_code, h.ward_code, h.lsoa_code, c.ethnic_group,
    c.residents, c.children, c.over_75s, (c.residents = 1)::INT AS lives_alone, c.oldest_age,
    h.imd_decile, (h.tenure = 'SOCIAL_RENTED')::INT AS social_rented,
    (h.property_type IN ('FLAT', 'MAISONETTE'))::INT AS flat, c.moved_in_last_year
FROM composition c
JOIN homes h USING (household_pid)
ORDER BY c.household_pid
