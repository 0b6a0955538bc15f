-- Template, for the interventions source: the households whose outcomes a list may have changed
-- between $start and $end (first days of months, end excluded): each offered help from a
-- published list in that time, and each listed (and not held out) by a list scored then. The
-- hold-out table is read by sql/modelling/changed_by_list_listed.sql when it exists.
SELECT DISTINCT {household_key} AS household_pid
FROM {raw_table}
WHERE from_list = 'Y' AND {date_column} >= $start AND {date_column} < $end
