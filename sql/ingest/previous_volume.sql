-- Rows received in the latest earlier month of a source, skipping a register's baseline month
-- (a full register, not a month of changes).
SELECT rows_received
FROM ingest_log
WHERE source = $source
  AND extract_month < $month
  AND NOT ($is_register AND extract_month = (
      SELECT min(extract_month) FROM ingest_log WHERE source = $source))
ORDER BY extract_month DESC
LIMIT 1
