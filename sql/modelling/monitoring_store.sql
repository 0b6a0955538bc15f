-- Each month's ranking, kept for next month's comparison (hearth/modelling/scoring/monitoring.py): this month's
-- replaces any earlier run for the same month, and months before the newest earlier one are dropped.
CREATE TABLE IF NOT EXISTS score_history (
    as_of VARCHAR, household_pid VARCHAR, rank BIGINT, score DOUBLE, model_version VARCHAR
);
DELETE FROM score_history
WHERE as_of = $as_of
   OR as_of < coalesce((SELECT max(as_of) FROM score_history WHERE as_of < $as_of), '');
INSERT INTO score_history
SELECT $as_of, household_pid, rank, score, $model_version FROM monitoring_frame;
CREATE TABLE IF NOT EXISTS monitoring (as_of VARCHAR, report VARCHAR);
DELETE FROM monitoring WHERE as_of = $as_of;
INSERT INTO monitoring VALUES ($as_of, $report)
