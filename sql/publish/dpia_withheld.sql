-- For the DPO's evidence pack (hearth/privacy/dpia.py): quarantined rows per source and rule,
-- and how many of them had a value withheld (kept only as its description, never the value).
SELECT source, rule,
       count(*)::BIGINT AS rows_quarantined,
       (count(*) FILTER (WHERE row_json LIKE '%[withheld%'))::BIGINT AS rows_with_a_value_withheld
FROM quarantine
GROUP BY source, rule
ORDER BY source, rule
