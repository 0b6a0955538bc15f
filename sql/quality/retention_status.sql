-- Per source, the oldest date retention is counted from among the records still held: an
-- event's date; for a register row, the day it stopped being true (the next row for the same
-- key, or the person's departure). A register's current rows are the register, kept while current.
WITH people AS (
    SELECT CASE
               WHEN lead(effective_date) OVER w IS NOT NULL THEN lead(effective_date) OVER w
               WHEN status = 'LEFT_AREA' THEN effective_date
           END AS ended
    FROM raw_people
    WINDOW w AS (PARTITION BY person_pid ORDER BY effective_date, _extract_month, _row_number)
),
addresses AS (
    SELECT lead(updated_date) OVER (
               PARTITION BY household_pid ORDER BY updated_date, _extract_month, _row_number
           ) AS ended
    FROM raw_addresses
)
SELECT 'addresses' AS source, (SELECT min(ended) FROM addresses) AS oldest,
       (SELECT count(*) FROM raw_addresses) AS rows
UNION ALL SELECT 'people', (SELECT min(ended) FROM people), (SELECT count(*) FROM raw_people)
UNION ALL SELECT 'social_care', min(event_date), count(*) FROM raw_social_care
UNION ALL SELECT 'health', min(event_date), count(*) FROM raw_health
UNION ALL SELECT 'fire', min(event_date), count(*) FROM raw_fire
UNION ALL SELECT 'police', min(event_date), count(*) FROM raw_police
