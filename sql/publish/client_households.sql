-- Re-identification at an agency: the household, as at the day before the as-of month, of each
-- person pseudonym on a client list (the same residence the household features use).
-- `client_pids` is an in-memory frame of pseudonyms, never stored.
SELECT c.client_row, r.household_pid
FROM client_pids c
JOIN residence r ON r.person_pid = c.client_pid
WHERE r.household_pid IS NOT NULL
  AND r.valid_from < $as_of
  AND (r.valid_to IS NULL OR r.valid_to >= $as_of)
