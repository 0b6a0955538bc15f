-- The households a lottery drew (held out) in the lists scored in [$since, $as_of): they stay
-- held out for HOLD_MONTHS from their draw (hearth/modelling/scoring/holdout_run.py), whatever
-- their score or the model generation does meanwhile. Only the draws count (held out in the
-- lottery's band), not the months a household was kept held out after its draw.
SELECT DISTINCT household_pid FROM holdout_assignments
WHERE held_out AND in_margin AND as_of >= $since AND as_of < $as_of
