-- The households held out of the lists scored in [$start_month, $end_month), and the share.
SELECT DISTINCT household_pid FROM holdout_assignments
WHERE held_out AND as_of >= $start_month AND as_of < $end_month
