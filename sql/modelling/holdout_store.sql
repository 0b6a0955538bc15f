-- One month's hold-out, replacing any earlier decision for the same month (a run again).
DELETE FROM holdout_assignments WHERE as_of = $as_of;
DELETE FROM holdout_decisions WHERE as_of = $as_of;
INSERT INTO holdout_assignments
    (as_of, generation, household_pid, score_rank, in_margin, held_out, listed)
SELECT $as_of, $generation, household_pid, score_rank, in_margin, held_out, listed
FROM holdout_frame
WHERE in_margin OR held_out OR listed;
INSERT INTO holdout_decisions VALUES
    ($as_of, $generation, $salt, $share, $capacity, $held_out, $band, $margin, $approved_by)
