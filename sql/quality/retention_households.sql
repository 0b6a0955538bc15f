-- Template, run with the household register's cut-off: a household whose register rows have
-- all gone.
DELETE FROM households
WHERE household_pid NOT IN (SELECT {register_key} FROM {household_register})
RETURNING arrival_month AS month
