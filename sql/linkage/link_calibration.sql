-- The recalibration's step functions (hearth/linkage/recalibration.py: fit), as a table the
-- candidates are joined to (sql/linkage/token_links.sql).
CREATE OR REPLACE TABLE link_calibration AS
SELECT which, calibrated_from, calibrated FROM link_calibration_fit ORDER BY which, calibrated_from
