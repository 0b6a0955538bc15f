-- Template, run for each event source whose contract declares tokens (hearth/linkage/link.py):
-- its records with tokens of the current version, with the labels its exact keys give. A
-- token column the source does not send is NULL. Records linked by exact keys are kept only
-- in a sample of at most $labelled per source (by a hash of the record id, so the same ones each
-- run): they are the labels that recalibrate and measure the linkage.
-- The records are chosen first, on linked_events' few columns, and only the chosen ones' raw
-- rows are read whole: a source whose every record has an exact key (health) sends millions of
-- rows at 1,000,000 households, and sorting them all, every column carried, to keep 20,000 was
-- most of gathering's time.
INSERT INTO link_records
WITH keyed AS (
    -- each record that has a row of this token version, as linked on its first event date
    SELECT
        record_id,
        arg_min(
            {'d': event_date, 'h': household_pid, 's': link_status, 'p': person_pid}, event_date
        ) AS f
    FROM linked_events
    WHERE source = $source
      AND record_id IN (SELECT {record_key} FROM {raw_table} WHERE token_version = $token_version)
    GROUP BY record_id
),
flagged AS (
    SELECT
        record_id, f.d AS _event_date, f.h AS _household,
        f.s NOT IN ('linked_by_household_key', 'linked_by_person_key') AS _needs,
        CASE WHEN f.s = 'linked_by_person_key' THEN f.p END AS _person
    FROM keyed
),
chosen AS (
    SELECT * FROM flagged WHERE _needs
    UNION ALL
    -- the labels: the first $labelled exact-keyed records by hash (a top-n, not a sort of all)
    (SELECT * FROM flagged WHERE NOT _needs ORDER BY hash(record_id) LIMIT $labelled)
),
latest AS (
    -- each chosen record's latest row of this token version
    SELECT r.*
    FROM {raw_table} r
    SEMI JOIN chosen c ON c.record_id = r.{record_key}
    WHERE r.token_version = $token_version
    QUALIFY row_number() OVER (PARTITION BY r.{record_key} ORDER BY r._extract_month DESC, r._row_number DESC) = 1
)
SELECT
    'E#' || $source || '#' || r.{record_key}, $source, r.{record_key}, c._event_date, c._person,
    c._household, c._needs,
    {given_token}, {given_phonetic_token}, string_split({given_bigram_tokens}, ' '),
    {family_token}, {family_phonetic_token}, string_split({family_bigram_tokens}, ' '),
    {birth_token}, {birth_year_token}, {birth_month_token}, {birth_day_token},
    {pc_unit_token}, {pc_sector_token}, {pc_district_token}, {premise_token}
-- (a token column the source does not send is NULL, so these are not qualified)
FROM latest r
JOIN chosen c ON c.record_id = r.{record_key};
