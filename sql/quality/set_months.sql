-- The extract months one source's expectation check covers: the given months that were loaded.
DELETE FROM quality.months_checked WHERE source = $source;
INSERT INTO quality.months_checked
SELECT source, extract_month FROM ingest_log
WHERE source = $source
  AND ($months IS NULL OR list_contains($months::VARCHAR[], extract_month));
