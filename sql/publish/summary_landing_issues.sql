-- What the landing holds that was not read, and the gaps in each source's months.
SELECT path, source, extract_month, kind, why, blocking
FROM landing_issues
ORDER BY source NULLS FIRST, path
