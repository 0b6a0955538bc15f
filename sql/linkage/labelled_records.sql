-- The records an exact key linked (labels), per source: who and where the key says they are.
SELECT source, record_id, key_person, key_household
FROM link_records
WHERE NOT needs_link
