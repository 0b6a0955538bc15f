SELECT extract_month FROM quality.months_checked WHERE source = $source ORDER BY extract_month
