SELECT source, min(extract_month) AS oldest_month, count(*) AS rows
FROM quarantine GROUP BY source
