-- Template, for the interventions source: the households whose outcomes a list may have changed
-- between $start and $end (first days of months, end excluded), each with the first month it was
-- offered help from a published list in that time. The listed (and not held out) are read from
-- the hold-out table by sql/modelling/changed_by_list_listed.sql when it exists; safe updating
-- censors a household's outcome at the earlier of the two months.
SELECT {household_key} AS household_pid, strftime(min({date_column}), '%Y-%m') AS first_month
FROM {raw_table}
WHERE from_list = 'Y' AND {date_column} >= $start AND {date_column} < $end
GROUP BY ALL
