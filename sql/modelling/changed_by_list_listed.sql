-- The households listed (not held out) by the lists scored in [$start_month, $end_month), each
-- with the first month a list named it there (safe updating censors its outcome at that month).
SELECT household_pid, min(as_of) AS first_month FROM holdout_assignments
WHERE listed AND NOT held_out AND as_of >= $start_month AND as_of < $end_month
GROUP BY household_pid
