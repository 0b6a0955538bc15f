-- Each candidate's recalibrated probability (the step functions in link_calibration, fitted by
-- hearth/linkage/recalibration.py on records that carry exact keys too: best candidates and
-- runners-up each have their own), then the best link of each record without an exact key
-- written into linked_events when it is at least the floor (LINK_FLOOR).
CREATE OR REPLACE TABLE link_candidates AS
SELECT c.* REPLACE (coalesce(cal.calibrated, c.raw_probability) AS link_probability)
FROM link_candidates c
ASOF LEFT JOIN link_calibration cal
    ON cal.which = CASE WHEN c.rank = 1 THEN 'best' ELSE 'runner_up' END
    AND c.raw_probability >= cal.calibrated_from;
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
