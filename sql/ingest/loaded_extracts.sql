-- Every extract the warehouse holds as loaded, with the identity of its bytes (the landing
-- sensor leaves these out of its runs: a file is never processed twice).
SELECT source, extract_month, sha256 FROM ingest_log WHERE status = 'loaded'
