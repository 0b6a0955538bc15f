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
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_social_care (
    record_id VARCHAR, person_pid VARCHAR, household_pid VARCHAR, event_date DATE,
    service VARCHAR, event_type VARCHAR,
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_health (
    record_id VARCHAR, person_pid VARCHAR, event_date DATE, event_type VARCHAR,
    category VARCHAR, condition VARCHAR, smoking_status VARCHAR,
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_fire (
    record_id VARCHAR, household_pid VARCHAR, event_date DATE, event_type VARCHAR, cause VARCHAR,
    _row_number BIGINT, _extract_month VARCHAR
);
CREATE TABLE IF NOT EXISTS raw_police (
    record_id VARCHAR, person_pid VARCHAR, household_pid VARCHAR, event_date DATE,
    event_type VARCHAR, risk_level VARCHAR,
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
