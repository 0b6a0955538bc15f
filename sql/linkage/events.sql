-- Every accepted event from the agencies in one shape: the table, filled for each event source
-- by sql/linkage/source_events.sql and linked by sql/linkage/linked_events.sql.
CREATE OR REPLACE TABLE events (
    source VARCHAR,
    record_id VARCHAR,
    person_pid VARCHAR,
    household_key VARCHAR,
    event_date DATE,
    arrival_month VARCHAR,
    event_code VARCHAR,
    is_crisis BOOLEAN
);
