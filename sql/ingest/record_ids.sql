-- Record ids already accepted for a source from other extract months (a late duplicate).
SELECT record_id FROM raw_social_care WHERE $source = 'social_care' AND _extract_month <> $month
UNION ALL
SELECT record_id FROM raw_health WHERE $source = 'health' AND _extract_month <> $month
UNION ALL
SELECT record_id FROM raw_fire WHERE $source = 'fire' AND _extract_month <> $month
UNION ALL
SELECT record_id FROM raw_police WHERE $source = 'police' AND _extract_month <> $month
