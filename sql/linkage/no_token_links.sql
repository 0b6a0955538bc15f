-- Nothing needed a token link: no candidates, no calibration (linked_events keeps probability 1
-- for every exact link).
CREATE OR REPLACE TABLE link_candidates (
    source VARCHAR, record_id VARCHAR, event_date DATE, needs_link BOOLEAN, rank BIGINT,
    candidates BIGINT, person_pid VARCHAR, household_pid VARCHAR, weight DOUBLE,
    raw_probability DOUBLE, person_label BOOLEAN, household_label BOOLEAN,
    link_probability DOUBLE
);
CREATE OR REPLACE TABLE link_calibration (
    which VARCHAR, calibrated_from DOUBLE, calibrated DOUBLE, next_from DOUBLE,
    next_calibrated DOUBLE
)
