-- The last linkage run's measures, if any run has kept them.
SELECT measures::VARCHAR FROM linkage_measures
