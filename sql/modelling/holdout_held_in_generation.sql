-- The households held out of an earlier list of the same model generation (scored before
-- $as_of): they stay held out for the rest of the generation, whatever their score does now.
SELECT DISTINCT household_pid FROM holdout_assignments
WHERE held_out AND generation = $generation AND as_of < $as_of
