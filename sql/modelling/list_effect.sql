-- Template, for the interventions source: "is the list working?" (issue 26). Each household's
-- first entry in a hold-out lottery (the capacity margin of a list scored at `as_of`, made
-- at least $horizon months before $until), whether it was held out or offered, whether it
-- was visited (an accepted offer from a list, completed, in the months after), by which
-- agency and with what offer, and whether it had a crisis in the $horizon months from the
-- list's month. Each entrant's lead and first reason's feature come too where the warehouse
-- kept them (`SELECT *`: a warehouse made before they were kept has no such columns), and
-- whether a list named it (listed, not held out) in the $lookback months before its lottery's
-- list: known before the draw, so the draw cannot have changed it.
WITH entries AS (
    SELECT * EXCLUDE (generation, score_rank, in_margin, listed),
           CAST(as_of || '-01' AS DATE) AS list_day
    FROM holdout_assignments
    WHERE in_margin AND as_of <= $last_list
    QUALIFY row_number() OVER (PARTITION BY household_pid ORDER BY as_of) = 1
),
visits AS (
    SELECT e.household_pid, arg_min(i.agency, i.completed_date) AS agency,
           arg_min(i.offer_type, i.completed_date) AS offer_type
    FROM entries e
    JOIN {raw_table} i ON i.{household_key} = e.household_pid
    WHERE i.from_list = 'Y' AND i.response = 'ACCEPTED' AND i.completed_date IS NOT NULL
      AND i.{date_column} >= e.list_day
      AND i.{date_column} < e.list_day + to_months(CAST($horizon AS INTEGER))
    GROUP BY e.household_pid
),
listed_before AS (
    SELECT DISTINCT e.household_pid
    FROM entries e
    JOIN holdout_assignments b ON b.household_pid = e.household_pid
    WHERE b.listed AND NOT b.held_out AND b.as_of < e.as_of
      AND b.as_of >= strftime(e.list_day - to_months(CAST($lookback AS INTEGER)), '%Y-%m')
),
crises AS (
    SELECT e.household_pid, count(*) AS crises
    FROM entries e
    JOIN linked_events l ON l.household_pid = e.household_pid
    WHERE l.is_crisis AND l.event_date >= e.list_day
      AND l.event_date < e.list_day + to_months(CAST($horizon AS INTEGER))
    GROUP BY e.household_pid
)
SELECT e.* EXCLUDE (list_day), v.household_pid IS NOT NULL AS visited,
       v.agency, v.offer_type, coalesce(c.crises, 0) > 0 AS crisis,
       b.household_pid IS NOT NULL AS listed_before
FROM entries e
LEFT JOIN visits v USING (household_pid)
LEFT JOIN listed_before b USING (household_pid)
LEFT JOIN crises c USING (household_pid)
