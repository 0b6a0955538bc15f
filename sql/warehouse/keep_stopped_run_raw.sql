-- Template, run for each source after sql/warehouse/keep_stopped_run.sql made kept_months: the
-- accepted rows of the months a stopped run keeps (hearth/operations/commit.py).
INSERT INTO {raw_table} SELECT * FROM run_copy.{raw_table}
WHERE _extract_month IN (SELECT extract_month FROM kept_months WHERE source = $source);
