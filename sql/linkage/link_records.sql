-- The records the token linkage (hearth/linkage/probabilistic.py) looks at, in one shape: the
-- event records that carry tokens of the current version, filled per source by
-- sql/linkage/source_link_records.sql, and the person register's tokens. Bigram tokens become
-- lists here for Dice agreement. Nothing in these tables leaves the warehouse.
CREATE OR REPLACE TABLE link_records (
    unique_id VARCHAR,
    source VARCHAR,
    record_id VARCHAR,
    event_date DATE,
    key_person VARCHAR,     -- the exact person key, where the register knows it (a label)
    key_household VARCHAR,  -- the household the exact keys linked it to (a label)
    needs_link BOOLEAN,     -- no exact key linked it
    given_token VARCHAR, given_phonetic_token VARCHAR, given_bigrams VARCHAR[],
    family_token VARCHAR, family_phonetic_token VARCHAR, family_bigrams VARCHAR[],
    birth_token VARCHAR, birth_year_token VARCHAR, birth_month_token VARCHAR,
    birth_day_token VARCHAR,
    pc_unit_token VARCHAR, pc_sector_token VARCHAR, pc_district_token VARCHAR,
    premise_token VARCHAR
);
-- The register: each person's distinct recorded identities (a move or a new surname adds one),
-- so a record that gives an old address still meets the person.
CREATE OR REPLACE TABLE link_register AS
WITH identities AS (
    SELECT
        person_pid, min(effective_date) AS first_seen,
        given_token, given_phonetic_token, given_bigram_tokens,
        family_token, family_phonetic_token, family_bigram_tokens,
        birth_token, birth_year_token, birth_month_token, birth_day_token,
        pc_unit_token, pc_sector_token, pc_district_token, premise_token
    FROM {person_register}
    WHERE token_version = $token_version AND (family_token IS NOT NULL OR birth_token IS NOT NULL)
    GROUP BY ALL
)
SELECT
    'R#' || person_pid || '#' || row_number() OVER (PARTITION BY person_pid ORDER BY first_seen)
        AS unique_id,
    person_pid,
    given_token, given_phonetic_token, string_split(given_bigram_tokens, ' ') AS given_bigrams,
    family_token, family_phonetic_token, string_split(family_bigram_tokens, ' ') AS family_bigrams,
    birth_token, birth_year_token, birth_month_token, birth_day_token,
    pc_unit_token, pc_sector_token, pc_district_token, premise_token
FROM identities;
-- What splink reads (hearth/linkage/splink_model.py): both sides with the same columns.
CREATE OR REPLACE VIEW link_records_in AS
SELECT unique_id, given_token, given_phonetic_token, given_bigrams, family_token,
       family_phonetic_token, family_bigrams, birth_token, birth_year_token, birth_month_token,
       birth_day_token, pc_unit_token, pc_sector_token, pc_district_token, premise_token
FROM link_records;
CREATE OR REPLACE VIEW link_register_in AS
SELECT unique_id, given_token, given_phonetic_token, given_bigrams, family_token,
       family_phonetic_token, family_bigrams, birth_token, birth_year_token, birth_month_token,
       birth_day_token, pc_unit_token, pc_sector_token, pc_district_token, premise_token
FROM link_register;
