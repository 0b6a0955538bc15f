-- The first month any agency's events were received: how far back history reaches.
SELECT min(extract_month) FROM ingest_log
WHERE source IN ('social_care', 'health', 'fire', 'police') AND status = 'loaded'
