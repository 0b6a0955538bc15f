-- Re-identification at an agency: how many pseudonyms of a client list Hearth knows at all, on
-- the ranked list or not — a household of the address register, or (when the role may match
-- people, $persons) a person of the people register. None known means the list was hashed with
-- another key than the partners' extracts, or from another column. Counts only.
SELECT count(*) AS known
FROM client_pids c
WHERE c.client_pid IN (SELECT household_pid FROM households)
   OR c.client_pid IN (SELECT household_pid FROM residence)
   OR ($persons AND c.client_pid IN (SELECT person_pid FROM residence))
