-- Each event linked to the household it happened in: directly where the agency gave a known
-- household key, otherwise through the person's address on the event date. Unlinked events are
-- kept, with the reason. An exact key is authoritative: its link_probability is 1. Records with
-- no exact key may then be linked by their tokens (sql/linkage/token_links.sql), with the
-- recalibrated probability of the best candidate.
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
    END AS link_status,
    CASE WHEN coalesce(h.household_pid, r.household_pid) IS NOT NULL THEN 1.0 END::DOUBLE
        AS link_probability
FROM events e
LEFT JOIN households h ON e.household_key = h.household_pid
-- the person's stay that had started by the event date (people move)
ASOF LEFT JOIN residence r ON e.person_pid = r.person_pid AND e.event_date >= r.valid_from
LEFT JOIN known_people kp ON e.person_pid = kp.person_pid
