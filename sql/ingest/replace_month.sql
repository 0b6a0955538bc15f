-- Clear one source's month before its (re)load, so that re-landing a file replaces that month.
-- Each statement only touches the table of the source named by $source.
DELETE FROM raw_addresses WHERE $source = 'addresses' AND _extract_month = $month;
DELETE FROM raw_people WHERE $source = 'people' AND _extract_month = $month;
DELETE FROM raw_social_care WHERE $source = 'social_care' AND _extract_month = $month;
DELETE FROM raw_health WHERE $source = 'health' AND _extract_month = $month;
DELETE FROM raw_fire WHERE $source = 'fire' AND _extract_month = $month;
DELETE FROM raw_police WHERE $source = 'police' AND _extract_month = $month;
DELETE FROM quarantine WHERE source = $source AND extract_month = $month;
DELETE FROM batch_refusals WHERE source = $source AND extract_month = $month;
DELETE FROM ingest_log WHERE source = $source AND extract_month = $month;
