-- Template, for the interventions source: the households visited from a published list between
-- $start and $end (first days of months, end excluded), each with the month of its first
-- completed visit there (an accepted offer from a list with its completed date). Safe updating
-- reads a visited household's training features as they were before that month: the visit
-- changed its crises after it (hearth/modelling/training/visit_features.py).
SELECT {household_key} AS household_pid, strftime(min(completed_date), '%Y-%m') AS first_month
FROM {raw_table}
WHERE from_list = 'Y' AND response = 'ACCEPTED' AND completed_date IS NOT NULL
  AND completed_date >= $start AND completed_date < $end
GROUP BY ALL
