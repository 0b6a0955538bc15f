-- The households listed (not held out) by the lists scored in [$start_month, $end_month).
SELECT DISTINCT household_pid FROM holdout_assignments
WHERE listed AND NOT held_out AND as_of >= $start_month AND as_of < $end_month
