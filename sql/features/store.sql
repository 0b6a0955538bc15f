-- Keep the feature sets and labels of this run in the warehouse, replacing the last run's.
CREATE OR REPLACE TABLE household_features AS SELECT * FROM features_frame;
CREATE OR REPLACE TABLE household_labels AS SELECT * FROM labels_frame
