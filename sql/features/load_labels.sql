SELECT household_pid, crisis_12m FROM household_labels WHERE as_of = $as_of_month ORDER BY household_pid
