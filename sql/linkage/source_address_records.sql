-- Template, run for each event source whose contract sends address tokens but no name or date
-- of birth (hearth/linkage/address.py): its records with a premise token of the register's
-- token version, with the household its exact key gave (a label) where it had one.
INSERT INTO address_records
SELECT DISTINCT ON (r.{record_key})
    $source, r.{record_key}, le.household_pid,
    le.link_status NOT IN ('linked_by_household_key', 'linked_by_person_key'), r.premise_token
FROM {raw_table} r
JOIN linked_events le ON le.source = $source AND le.record_id = r.{record_key}
WHERE r.token_version = $token_version AND r.premise_token IS NOT NULL
ORDER BY r.{record_key}, r._extract_month DESC, r._row_number DESC
