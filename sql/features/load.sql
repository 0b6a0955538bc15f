SELECT * EXCLUDE (as_of) FROM household_features WHERE as_of = $as_of_month ORDER BY household_pid
