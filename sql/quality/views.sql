-- What the expectation-suite checks validate: each source's accepted rows (raw_<source>) in the
-- extract months named in quality.months_checked for that source. GX reads these views through
-- its own cursors, so they are persistent views, not temporary ones; names are schema-qualified
-- because GX sets the search path to the `quality` schema.
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.months_checked (
    source VARCHAR NOT NULL,
    extract_month VARCHAR NOT NULL
);
CREATE OR REPLACE VIEW quality.addresses AS
SELECT * FROM main.raw_addresses
WHERE _extract_month IN (SELECT extract_month FROM quality.months_checked WHERE source = 'addresses');
CREATE OR REPLACE VIEW quality.people AS
SELECT * FROM main.raw_people
WHERE _extract_month IN (SELECT extract_month FROM quality.months_checked WHERE source = 'people');
CREATE OR REPLACE VIEW quality.social_care AS
SELECT * FROM main.raw_social_care
WHERE _extract_month IN (SELECT extract_month FROM quality.months_checked WHERE source = 'social_care');
CREATE OR REPLACE VIEW quality.health AS
SELECT * FROM main.raw_health
WHERE _extract_month IN (SELECT extract_month FROM quality.months_checked WHERE source = 'health');
CREATE OR REPLACE VIEW quality.fire AS
SELECT * FROM main.raw_fire
WHERE _extract_month IN (SELECT extract_month FROM quality.months_checked WHERE source = 'fire');
CREATE OR REPLACE VIEW quality.police AS
SELECT * FROM main.raw_police
WHERE _extract_month IN (SELECT extract_month FROM quality.months_checked WHERE source = 'police');
