-- The recalibration's fit (hearth/linkage/recalibration.py: fit), as tables the candidates are
-- joined to (sql/linkage/token_links.sql): per group (best, runner_up) the score's
-- coefficients, and the isotonic points on the score, each with the next point so a score is
-- read on the straight line between the two.
CREATE OR REPLACE TABLE link_calibration_score AS
SELECT which, coef_intercept, coef_weight, coef_margin, coef_alone FROM link_calibration_score_fit;
CREATE OR REPLACE TABLE link_calibration AS
SELECT which, calibrated_from, calibrated,
    lead(calibrated_from) OVER w AS next_from, lead(calibrated) OVER w AS next_calibrated
FROM link_calibration_fit
WINDOW w AS (PARTITION BY which ORDER BY calibrated_from)
ORDER BY which, calibrated_from
