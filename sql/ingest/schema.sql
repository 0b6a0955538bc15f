-- The warehouse's bookkeeping tables. Source tables (raw_<source>) are made by ingest from
-- the data contracts; everything here is created once and kept.
CREATE TABLE IF NOT EXISTS ingest_log (
    source VARCHAR NOT NULL,
    extract_month VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    rows_received BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    status VARCHAR NOT NULL,          -- loaded | refused
    problems VARCHAR,                 -- plain sentences, one per line, never a value
    ingested_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, extract_month)
);
CREATE TABLE IF NOT EXISTS quarantine (
    source VARCHAR NOT NULL,
    extract_month VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    rule VARCHAR NOT NULL,
    column_name VARCHAR,
    quarantined_at TIMESTAMP NOT NULL,
    row_json VARCHAR NOT NULL         -- the pseudonymised row as received, for `hearth quarantine show`
);
-- The audit log is not here: it has its own chained, append-only folder, HEARTH_HOME/audit
-- (hearth/audit.py). A warehouse made before keeps its old audit_log table, copied once.
-- Entries under the landing that were not read (with why) and months missing between a
-- source's first and newest extract: the landing is the truth, and what was not read is named.
CREATE TABLE IF NOT EXISTS landing_issues (
    path VARCHAR NOT NULL,            -- relative to the landing
    source VARCHAR,                   -- NULL for the landing's top level
    extract_month VARCHAR,
    kind VARCHAR NOT NULL,            -- unread | gap
    why VARCHAR NOT NULL,
    blocking BOOLEAN NOT NULL,        -- it may hold rows: the source's run stops
    seen_at TIMESTAMP NOT NULL
);
-- Removals the landing would make and no officer has accepted yet (hearth/ingest/removals.py):
-- what `hearth run --accept-removals` reads back. A stopped run keeps it, so the list it showed
-- can be accepted.
CREATE TABLE IF NOT EXISTS removals_pending (
    source VARCHAR NOT NULL,
    extract_month VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- not_landed | shrinks
    rows_accepted BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    removal_key VARCHAR NOT NULL,     -- source:month:digest, what an officer accepts
    held_sha VARCHAR NOT NULL,        -- the copy it would remove: listed only while still held
    sentence VARCHAR NOT NULL,
    seen_at TIMESTAMP NOT NULL
);
