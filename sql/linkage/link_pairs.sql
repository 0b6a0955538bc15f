-- The scored record-register pairs of every part (hearth/linkage/splink_model.py: predict),
-- read by sql/linkage/link_candidates.sql.
CREATE OR REPLACE TEMP TABLE link_pairs (
    unique_id_l VARCHAR,
    unique_id_r VARCHAR,
    match_weight DOUBLE,
    match_probability DOUBLE
);
