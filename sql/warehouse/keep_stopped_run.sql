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
