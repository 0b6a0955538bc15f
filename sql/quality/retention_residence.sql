-- Run with the person register's cut-off: a stay that ended before it, or a departure before it.
DELETE FROM residence
WHERE valid_to < $cutoff OR (status = 'LEFT_AREA' AND valid_from < $cutoff)
RETURNING arrival_month AS month
