-- Each candidate's recalibrated probability (the fit in link_calibration_score and
-- link_calibration, made by hearth/linkage/recalibration.py on records that carry exact keys
-- too: best candidates and runners-up each have their own), then the best link of each record
-- without an exact key written into linked_events when it is at least the floor (LINK_FLOOR).
-- The score's inputs as recalibration.with_features makes them: the margin is a candidate's
-- weight less the next candidate's (capped at $margin_cap, 0 for the last), alone is 1 when the
-- record has one candidate. Between two isotonic points the score is read on a straight line;
-- below the first or above the last it takes that point's value (numpy's interp).
CREATE OR REPLACE TABLE link_candidates AS
WITH featured AS (
    SELECT c.*,
        CASE WHEN c.rank = 1 THEN 'best' ELSE 'runner_up' END AS _which,
        CASE WHEN lead(c.weight) OVER w IS NULL THEN 0.0
            ELSE least(c.weight - lead(c.weight) OVER w, $margin_cap) END AS _margin,
        CASE WHEN max(c.rank) OVER (PARTITION BY c.source, c.record_id) = 1 THEN 1.0 ELSE 0.0
            END AS _alone
    FROM link_candidates c
    WINDOW w AS (PARTITION BY c.source, c.record_id ORDER BY c.rank)
),
scored AS (
    SELECT f.*,
        s.coef_intercept + s.coef_weight * f.weight + s.coef_margin * f._margin
            + s.coef_alone * f._alone AS _score
    FROM featured f
    LEFT JOIN link_calibration_score s ON s.which = f._which
),
first_points AS (
    SELECT which, arg_min(calibrated, calibrated_from) AS first_calibrated
    FROM link_calibration GROUP BY which
)
SELECT s.* EXCLUDE (_which, _margin, _alone, _score) REPLACE (
    CASE
        WHEN s._score IS NULL THEN s.raw_probability  -- too few labels: the raw probability
        WHEN cal.calibrated IS NULL THEN fp.first_calibrated
        WHEN cal.next_from IS NULL THEN cal.calibrated
        ELSE cal.calibrated + (cal.next_calibrated - cal.calibrated)
            * (s._score - cal.calibrated_from) / (cal.next_from - cal.calibrated_from)
    END AS link_probability)
FROM scored s
LEFT JOIN first_points fp ON fp.which = s._which
ASOF LEFT JOIN link_calibration cal ON cal.which = s._which AND s._score >= cal.calibrated_from;
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
