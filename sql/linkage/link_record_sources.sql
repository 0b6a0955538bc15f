-- The sources of the token records and how many each holds (hearth/linkage/splink_model.py:
-- a source with enough records gets m estimated on its own recording).
SELECT source, count(*) AS records
FROM link_records
GROUP BY source
ORDER BY source
