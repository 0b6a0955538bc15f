-- Rankings kept for next month's comparison (models/monitoring.py) made as of a month before
-- $cutoff_month: derived from records of every source, they go with the shortest retention.
DELETE FROM score_history WHERE as_of < $cutoff_month
RETURNING as_of AS month;
DELETE FROM monitoring WHERE as_of < $cutoff_month
RETURNING as_of AS month
