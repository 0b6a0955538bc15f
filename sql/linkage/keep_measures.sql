-- The last linkage run's measures (hearth/linkage/probabilistic.py), as JSON, for the run
-- summary: counts, rates and calibration only, never a token or a value.
CREATE OR REPLACE TABLE linkage_measures AS SELECT now() AS measured_at, $measures::JSON AS measures
