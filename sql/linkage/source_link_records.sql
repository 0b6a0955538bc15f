-- Template, run for each event source whose contract declares tokens (hearth/linkage/link.py):
-- its records with tokens of the current version, with the labels its exact keys give. A
-- token column the source does not send is NULL. Records linked by exact keys are kept only
-- in a sample of at most $labelled per source (by a hash of the record id, so the same ones each
-- run): they are the labels that recalibrate and measure the linkage.
INSERT INTO link_records
WITH raw AS (
    SELECT *
    FROM {raw_table}
    WHERE token_version = $token_version
    QUALIFY row_number() OVER (PARTITION BY {record_key} ORDER BY _extract_month DESC, _row_number DESC) = 1
),
keyed AS (
    SELECT
        r.*, le.event_date AS _event_date, le.household_pid AS _household,
        le.link_status NOT IN ('linked_by_household_key', 'linked_by_person_key') AS _needs,
        CASE WHEN le.link_status = 'linked_by_person_key' THEN le.person_pid END AS _person
    FROM raw r
    JOIN linked_events le ON le.source = $source AND le.record_id = r.{record_key}
    QUALIFY row_number() OVER (PARTITION BY r.{record_key} ORDER BY le.event_date) = 1
),
joined AS (
    SELECT *, row_number() OVER (PARTITION BY _needs ORDER BY hash({record_key})) AS _nth
    FROM keyed
)
SELECT
    'E#' || $source || '#' || {record_key}, $source, {record_key}, _event_date, _person,
    _household, _needs,
    {given_token}, {given_phonetic_token}, string_split({given_bigram_tokens}, ' '),
    {family_token}, {family_phonetic_token}, string_split({family_bigram_tokens}, ' '),
    {birth_token}, {birth_year_token}, {birth_month_token}, {birth_day_token},
    {pc_unit_token}, {pc_sector_token}, {pc_district_token}, {premise_token}
FROM joined
WHERE _needs OR _nth <= $labelled;
