-- What the landing inventory found and did not read, for one source (and the landing's own
-- top level, which every source's step writes the same way): replaced at each ingest step.
DELETE FROM landing_issues WHERE source = $source OR source IS NULL;
INSERT INTO landing_issues
SELECT path, source, extract_month, kind, why, blocking, now()::TIMESTAMP
FROM incoming_issues
WHERE source = $source OR source IS NULL;
