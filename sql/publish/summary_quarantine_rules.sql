SELECT source, rule, count(*) AS rows
FROM quarantine
GROUP BY ALL
ORDER BY source, rule
