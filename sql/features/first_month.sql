-- The first month any agency's events were received: how far back history reaches
-- ($event_sources: the event sources, hearth/sources.py).
SELECT min(extract_month) FROM ingest_log
WHERE list_contains($event_sources, source) AND status = 'loaded'
