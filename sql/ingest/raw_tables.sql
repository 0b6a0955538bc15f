-- Accepted rows of each source, typed as its data contract says, with the extract month they
-- arrived in and their row number in that file. Kept in step with data_contracts/ by a test.
CREATE TABLE IF NOT EXISTS raw_addresses (
    household_pid VARCHAR, la_code VARCHAR, ward_code VARCHAR, lsoa_code VARCHAR,
    imd_decile BIGINT, property_type VARCHAR, tenure VARCHAR, updated_date DATE,
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_people (
    person_pid VARCHAR, household_pid VARCHAR, birth_year BIGINT, sex VARCHAR,
    ethnic_group VARCHAR, status VARCHAR, effective_date DATE,
    given_token VARCHAR, given_phonetic_token VARCHAR, given_bigram_tokens VARCHAR,
    family_token VARCHAR, family_phonetic_token VARCHAR, family_bigram_tokens VARCHAR,
    birth_token VARCHAR, birth_year_token VARCHAR, birth_month_token VARCHAR,
    birth_day_token VARCHAR, pc_unit_token VARCHAR, pc_sector_token VARCHAR,
    pc_district_token VARCHAR, premise_token VARCHAR, token_version VARCHAR,
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_social_care (
    record_id VARCHAR, person_pid VARCHAR, household_pid VARCHAR, event_date DATE,
    service VARCHAR, event_type VARCHAR,
    given_token VARCHAR, given_phonetic_token VARCHAR, given_bigram_tokens VARCHAR,
    family_token VARCHAR, family_phonetic_token VARCHAR, family_bigram_tokens VARCHAR,
    birth_token VARCHAR, birth_year_token VARCHAR, birth_month_token VARCHAR,
    birth_day_token VARCHAR, pc_unit_token VARCHAR, pc_sector_token VARCHAR,
    pc_district_token VARCHAR, premise_token VARCHAR, token_version VARCHAR,
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_health (
    record_id VARCHAR, person_pid VARCHAR, event_date DATE, event_type VARCHAR,
    category VARCHAR, condition VARCHAR, smoking_status VARCHAR,
    given_token VARCHAR, given_phonetic_token VARCHAR, given_bigram_tokens VARCHAR,
    family_token VARCHAR, family_phonetic_token VARCHAR, family_bigram_tokens VARCHAR,
    birth_token VARCHAR, birth_year_token VARCHAR, birth_month_token VARCHAR,
    birth_day_token VARCHAR, pc_unit_token VARCHAR, pc_sector_token VARCHAR,
    pc_district_token VARCHAR, premise_token VARCHAR, token_version VARCHAR,
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_fire (
    record_id VARCHAR, household_pid VARCHAR, event_date DATE, event_type VARCHAR, cause VARCHAR,
    pc_unit_token VARCHAR, pc_sector_token VARCHAR, pc_district_token VARCHAR,
    premise_token VARCHAR, token_version VARCHAR,
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_police (
    record_id VARCHAR, person_pid VARCHAR, household_pid VARCHAR, event_date DATE,
    event_type VARCHAR, risk_level VARCHAR,
    given_token VARCHAR, given_phonetic_token VARCHAR, given_bigram_tokens VARCHAR,
    family_token VARCHAR, family_phonetic_token VARCHAR, family_bigram_tokens VARCHAR,
    birth_token VARCHAR, birth_year_token VARCHAR, birth_month_token VARCHAR,
    birth_day_token VARCHAR, pc_unit_token VARCHAR, pc_sector_token VARCHAR,
    pc_district_token VARCHAR, premise_token VARCHAR, token_version VARCHAR,
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS batch_refusals (
    source VARCHAR NOT NULL,
    extract_month VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    rows_received BIGINT,
    rule VARCHAR NOT NULL,
    column_name VARCHAR,
    message VARCHAR NOT NULL,
    refused_at TIMESTAMP NOT NULL
);

-- Token columns (issue 25) added to a warehouse made before them: ingest inserts by column
-- name, so their place after _extract_month does not matter.
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS given_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS given_phonetic_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS given_bigram_tokens VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS family_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS family_phonetic_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS family_bigram_tokens VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS birth_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS birth_year_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS birth_month_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS birth_day_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS pc_unit_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS pc_sector_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS pc_district_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS premise_token VARCHAR;
ALTER TABLE raw_people ADD COLUMN IF NOT EXISTS token_version VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS given_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS given_phonetic_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS given_bigram_tokens VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS family_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS family_phonetic_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS family_bigram_tokens VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS birth_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS birth_year_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS birth_month_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS birth_day_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS pc_unit_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS pc_sector_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS pc_district_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS premise_token VARCHAR;
ALTER TABLE raw_social_care ADD COLUMN IF NOT EXISTS token_version VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS given_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS given_phonetic_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS given_bigram_tokens VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS family_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS family_phonetic_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS family_bigram_tokens VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS birth_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS birth_year_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS birth_month_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS birth_day_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS pc_unit_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS pc_sector_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS pc_district_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS premise_token VARCHAR;
ALTER TABLE raw_health ADD COLUMN IF NOT EXISTS token_version VARCHAR;
ALTER TABLE raw_fire ADD COLUMN IF NOT EXISTS pc_unit_token VARCHAR;
ALTER TABLE raw_fire ADD COLUMN IF NOT EXISTS pc_sector_token VARCHAR;
ALTER TABLE raw_fire ADD COLUMN IF NOT EXISTS pc_district_token VARCHAR;
ALTER TABLE raw_fire ADD COLUMN IF NOT EXISTS premise_token VARCHAR;
ALTER TABLE raw_fire ADD COLUMN IF NOT EXISTS token_version VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS given_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS given_phonetic_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS given_bigram_tokens VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS family_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS family_phonetic_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS family_bigram_tokens VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS birth_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS birth_year_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS birth_month_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS birth_day_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS pc_unit_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS pc_sector_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS pc_district_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS premise_token VARCHAR;
ALTER TABLE raw_police ADD COLUMN IF NOT EXISTS token_version VARCHAR;
