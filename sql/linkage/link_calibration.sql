-- The recalibration's fit (hearth/linkage/recalibration.py: fit), as a table the candidates are
-- joined to (sql/linkage/token_links.sql): per group (best, runner_up) the isotonic points on
-- splink's match weight, each with the next point so a weight is read on the straight line
-- between the two.
CREATE OR REPLACE TABLE link_calibration AS
SELECT which, calibrated_from, calibrated,
    lead(calibrated_from) OVER w AS next_from, lead(calibrated) OVER w AS next_calibrated
FROM link_calibration_fit
WINDOW w AS (PARTITION BY which ORDER BY calibrated_from)
ORDER BY which, calibrated_from
