-- The newest extract month loaded for each source (for the run summary's freshness section).
SELECT source, max(extract_month) AS newest_month
FROM ingest_log
GROUP BY source
ORDER BY source
