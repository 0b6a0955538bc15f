-- Each candidate's recalibrated probability (the isotonic points on the match weight in
-- link_calibration, fitted by hearth/linkage/recalibration.py on records that carry exact keys
-- too: best candidates and runners-up each have their own), then the best link of each record
-- without an exact key written into linked_events when it is at least the floor (LINK_FLOOR).
-- Between two points the weight is read on the straight line joining them; below the first or
-- above the last it takes that point's value (numpy's interp); a group without a fit keeps
-- the raw probability.
CREATE OR REPLACE TABLE link_candidates AS
WITH grouped AS (
    SELECT c.*, CASE WHEN c.rank = 1 THEN 'best' ELSE 'runner_up' END AS _which
    FROM link_candidates c
),
first_points AS (
    SELECT which, arg_min(calibrated, calibrated_from) AS first_calibrated
    FROM link_calibration GROUP BY which
)
SELECT g.* EXCLUDE (_which) REPLACE (
    CASE
        WHEN fp.which IS NULL THEN g.raw_probability  -- too few labels: the raw probability
        WHEN cal.calibrated IS NULL THEN fp.first_calibrated
        WHEN cal.next_from IS NULL THEN cal.calibrated
        ELSE cal.calibrated + (cal.next_calibrated - cal.calibrated)
            * (g.weight - cal.calibrated_from) / (cal.next_from - cal.calibrated_from)
    END AS link_probability)
FROM grouped g
LEFT JOIN first_points fp ON fp.which = g._which
ASOF LEFT JOIN link_calibration cal ON cal.which = g._which AND g.weight >= cal.calibrated_from;
UPDATE linked_events le
SET household_pid = c.household_pid,
    link_status = CASE WHEN c.link_probability >= $floor AND c.household_pid IS NOT NULL
        THEN 'linked_by_tokens' ELSE 'uncertain_token_link' END,
    link_probability = c.link_probability
FROM link_candidates c
WHERE c.rank = 1 AND c.needs_link AND le.source = c.source AND le.record_id = c.record_id
    AND le.household_pid IS NULL;
UPDATE linked_events
SET household_pid = NULL, link_probability = NULL
WHERE link_status = 'uncertain_token_link';
