-- The ranked list of this run, replacing the last one.
CREATE OR REPLACE TABLE household_scores AS SELECT * FROM scores_frame
