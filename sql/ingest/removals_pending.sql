-- The removals a run found that the warehouse still holds the copy of (one that was applied, or
-- whose month has since changed, is no longer listed), for `hearth run --accept-removals`.
SELECT p.source, p.extract_month, p.kind, p.rows_accepted, p.rows_quarantined, p.removal_key,
       p.sentence
FROM removals_pending p
JOIN ingest_log l
  ON l.source = p.source AND l.extract_month = p.extract_month AND l.sha256 = p.held_sha
ORDER BY p.source, p.extract_month, p.kind
