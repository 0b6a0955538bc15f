-- What the newest retention pass deleted, per source and kind.
SELECT source, kind, table_name, sum(rows)::BIGINT AS rows, any_value(cutoff) AS cutoff,
       any_value(retention_months) AS retention_months, any_value(ran_at) AS ran_at
FROM retention_log
WHERE ran_at = (SELECT max(ran_at) FROM retention_log)
GROUP BY source, kind, table_name
ORDER BY source, kind, table_name
