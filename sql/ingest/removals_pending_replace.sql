-- What the landing would remove for one source (hearth/ingest/removals.py), replaced at each
-- ingest step of that source.
DELETE FROM removals_pending WHERE source = $source;
INSERT INTO removals_pending
SELECT source, extract_month, kind, rows_accepted, rows_quarantined, removal_key, held_sha, sentence,
       now()::TIMESTAMP
FROM incoming_removals;
