SELECT count(*) FROM quarantine
WHERE source = $source AND extract_month = $month AND ($rule IS NULL OR rule = $rule)
