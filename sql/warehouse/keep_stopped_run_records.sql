-- After the accepted rows (sql/warehouse/keep_stopped_run_raw.sql): the kept months' quarantine
-- and load log, and the records an officer looks at to see why the run stopped.
INSERT INTO quarantine SELECT * FROM run_copy.quarantine q
WHERE EXISTS (
    SELECT 1 FROM kept_months k
    WHERE k.source = q.source AND k.extract_month = q.extract_month);
INSERT INTO ingest_log SELECT * FROM run_copy.ingest_log g
WHERE EXISTS (
    SELECT 1 FROM kept_months k
    WHERE k.source = g.source AND k.extract_month = g.extract_month);
DELETE FROM batch_refusals;
INSERT INTO batch_refusals SELECT * FROM run_copy.batch_refusals;
DELETE FROM landing_issues;
INSERT INTO landing_issues SELECT * FROM run_copy.landing_issues;
DELETE FROM removals_pending;
INSERT INTO removals_pending SELECT * FROM run_copy.removals_pending;
