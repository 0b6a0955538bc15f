-- The hold-out of every published list (issue 26, hearth/modelling/holdout.py): per scoring month,
-- each household within reach of the list's capacity, whether it entered the lottery, was held
-- out, or was listed. Kept across months: safe retraining and "is the list working?" read which
-- households a list changed (listed) and which it did not (held out).
CREATE TABLE IF NOT EXISTS holdout_assignments (
    as_of VARCHAR NOT NULL,
    generation VARCHAR NOT NULL,
    household_pid VARCHAR NOT NULL,
    score_rank BIGINT NOT NULL,
    in_margin BOOLEAN NOT NULL,
    held_out BOOLEAN NOT NULL,
    listed BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS holdout_decisions (
    as_of VARCHAR NOT NULL,
    generation VARCHAR NOT NULL,
    salt VARCHAR NOT NULL,
    share DOUBLE NOT NULL,
    capacity BIGINT NOT NULL,
    held_out BIGINT NOT NULL,
    band BIGINT NOT NULL,
    margin DOUBLE,
    approved_by VARCHAR
);
-- Who the list suggested should lead each lottery entrant, and the agency whose record is its
-- first reason (kept from the month's household_scores: "is the list working?" compares
-- offered and held-out households within each; added after the first warehouses were made).
ALTER TABLE holdout_assignments ADD COLUMN IF NOT EXISTS lead_agency VARCHAR;
ALTER TABLE holdout_assignments ADD COLUMN IF NOT EXISTS reason_feature VARCHAR;
