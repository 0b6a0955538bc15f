-- What a stopped run keeps of its copy of the warehouse (attached as run_copy;
-- hearth/operations/commit.py). It never removes or alters a record the warehouse held:
-- 1. months it loaded that the warehouse did not hold, whole (accepted rows, their quarantine
--    and load log), for a source none of whose held months changed in the run (a source with a
--    month replaced, removed or judged again keeps what it had: later months depend on earlier);
-- 2. the records an officer looks at to see why it stopped: the refusals, what under the landing
--    was not read, and the removals it would make.
CREATE OR REPLACE TEMP TABLE kept_months AS
SELECT r.source, r.extract_month
FROM run_copy.ingest_log r
WHERE NOT EXISTS (
        SELECT 1 FROM ingest_log l
        WHERE l.source = r.source AND l.extract_month = r.extract_month)
  AND r.source NOT IN (
        SELECT l.source
        FROM ingest_log l
        LEFT JOIN run_copy.ingest_log c USING (source, extract_month)
        WHERE c.sha256 IS DISTINCT FROM l.sha256
           OR c.rows_received IS DISTINCT FROM l.rows_received
           OR c.rows_accepted IS DISTINCT FROM l.rows_accepted
           OR c.rows_quarantined IS DISTINCT FROM l.rows_quarantined);
INSERT INTO raw_addresses SELECT * FROM run_copy.raw_addresses
WHERE _extract_month IN (SELECT extract_month FROM kept_months WHERE source = 'addresses');
INSERT INTO raw_people SELECT * FROM run_copy.raw_people
WHERE _extract_month IN (SELECT extract_month FROM kept_months WHERE source = 'people');
INSERT INTO raw_social_care SELECT * FROM run_copy.raw_social_care
WHERE _extract_month IN (SELECT extract_month FROM kept_months WHERE source = 'social_care');
INSERT INTO raw_health SELECT * FROM run_copy.raw_health
WHERE _extract_month IN (SELECT extract_month FROM kept_months WHERE source = 'health');
INSERT INTO raw_fire SELECT * FROM run_copy.raw_fire
WHERE _extract_month IN (SELECT extract_month FROM kept_months WHERE source = 'fire');
INSERT INTO raw_police SELECT * FROM run_copy.raw_police
WHERE _extract_month IN (SELECT extract_month FROM kept_months WHERE source = 'police');
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
