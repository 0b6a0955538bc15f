-- The households held out of one month's list.
SELECT household_pid FROM holdout_assignments WHERE as_of = $as_of AND held_out
