-- Every accepted event from the four agencies in one shape, linked to the household it
-- happened in: directly where the agency gave a known household key, otherwise through the
-- person's address on the event date. Unlinked events are kept, with the reason.
CREATE OR REPLACE TABLE events AS
SELECT 'social_care' AS source, record_id, person_pid, household_pid AS household_key, event_date,
       _extract_month AS arrival_month,
       'social_care:' || service || ':' || event_type AS event_code,
       event_type IN ('CP_PLAN', 'LOOKED_AFTER') AS is_crisis
FROM raw_social_care
UNION ALL
SELECT 'health', record_id, person_pid, NULL, event_date, _extract_month,
       'health:' || event_type || coalesce(':' || category, ':' || condition, ':' || smoking_status, ''),
       event_type = 'EMERGENCY_ADMISSION'
FROM raw_health
UNION ALL
SELECT 'fire', record_id, NULL, household_pid, event_date, _extract_month,
       'fire:' || event_type || coalesce(':' || cause, ''),
       event_type = 'DWELLING_FIRE'
FROM raw_fire
UNION ALL
SELECT 'police', record_id, person_pid, household_pid, event_date, _extract_month,
       'police:' || event_type || coalesce(':' || risk_level, ''),
       event_type = 'DOMESTIC_ABUSE' AND coalesce(risk_level, '') = 'HIGH'
FROM raw_police;
CREATE OR REPLACE TABLE linked_events AS
WITH known_people AS (SELECT DISTINCT person_pid FROM residence)
SELECT
    e.*,
    coalesce(h.household_pid, r.household_pid) AS household_pid,
    CASE
        WHEN h.household_pid IS NOT NULL THEN 'linked_by_household_key'
        WHEN r.household_pid IS NOT NULL THEN 'linked_by_person_key'
        WHEN e.person_pid IS NULL AND e.household_key IS NULL THEN 'no_key'
        WHEN e.person_pid IS NULL THEN 'unknown_pid'
        WHEN kp.person_pid IS NULL THEN 'unknown_pid'
        ELSE 'no_household_at_date'
    END AS link_status
FROM events e
LEFT JOIN households h ON e.household_key = h.household_pid
-- the person's stay that had started by the event date (people move)
ASOF LEFT JOIN residence r ON e.person_pid = r.person_pid AND e.event_date >= r.valid_from
LEFT JOIN known_people kp ON e.person_pid = kp.person_pid
