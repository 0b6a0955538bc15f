-- Template, for the interventions source: "is the list working?" (issue 26). Each household's
-- first entry in a hold-out lottery (the capacity margin of a list scored at `as_of`, made
-- at least $horizon months before $until), whether it was held out or offered, whether it
-- was visited (an accepted offer from a list, completed, in the months after), by which
-- agency and with what offer, and whether it had a crisis in the $horizon months from the
-- list's month.
WITH entries AS (
    SELECT household_pid, as_of, held_out,
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
crises AS (
    SELECT e.household_pid, count(*) AS crises
    FROM entries e
    JOIN linked_events l ON l.household_pid = e.household_pid
    WHERE l.is_crisis AND l.event_date >= e.list_day
      AND l.event_date < e.list_day + to_months(CAST($horizon AS INTEGER))
    GROUP BY e.household_pid
)
SELECT e.household_pid, e.as_of, e.held_out, v.household_pid IS NOT NULL AS visited,
       v.agency, v.offer_type, coalesce(c.crises, 0) > 0 AS crisis
FROM entries e
LEFT JOIN visits v USING (household_pid)
LEFT JOIN crises c USING (household_pid)
