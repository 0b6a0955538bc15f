-- Rankings kept for next month's comparison (hearth/modelling/scoring/monitoring.py) made as of a month before
-- $cutoff_month: derived from records of every source, they go with the shortest retention.
DELETE FROM score_history WHERE as_of < $cutoff_month
RETURNING as_of AS month;
DELETE FROM monitoring WHERE as_of < $cutoff_month
RETURNING as_of AS month;
-- Each list's hold-out (hearth/modelling/holdout.py): who entered the lottery, was held out or
-- listed, and the settings; made from the scores, it goes with them.
DELETE FROM holdout_assignments WHERE as_of < $cutoff_month
RETURNING as_of AS month;
DELETE FROM holdout_decisions WHERE as_of < $cutoff_month
RETURNING as_of AS month
