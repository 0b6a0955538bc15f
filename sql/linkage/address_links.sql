-- Address-only records linked to the one household the person register places at their
-- premise (house number, street and postcode unit). Where two or more households share the premise
-- token, or none holds it, the record is not linked. The probability is how often such a link
-- was right on records that carry an exact key too, smoothed ((right + 1) / (labelled + 2)).
CREATE OR REPLACE TABLE address_candidates AS
WITH premises AS (
    SELECT DISTINCT premise_token, household_pid
    FROM {person_register}
    WHERE token_version = $token_version AND premise_token IS NOT NULL
        AND household_pid IS NOT NULL AND status = 'RESIDENT'
),
counted AS (
    SELECT premise_token, any_value(household_pid) AS household_pid, count(*) AS households
    FROM premises
    GROUP BY premise_token
)
SELECT a.source, a.record_id, a.needs_link, a.key_household, c.household_pid, c.households,
    CASE WHEN a.key_household IS NOT NULL THEN c.household_pid = a.key_household END AS label
FROM address_records a
JOIN counted c ON c.premise_token = a.premise_token AND c.households = 1;
CREATE OR REPLACE TABLE address_calibration AS
SELECT source, count(label) AS labelled, count(label) FILTER (WHERE label) AS right_links,
    (count(label) FILTER (WHERE label) + 1) / (count(label) + 2) AS link_probability
FROM address_candidates
GROUP BY source;
UPDATE linked_events le
SET household_pid = c.household_pid,
    link_status = CASE WHEN k.link_probability >= $floor
        THEN 'linked_by_tokens' ELSE 'uncertain_token_link' END,
    link_probability = CASE WHEN k.link_probability >= $floor THEN k.link_probability END
FROM address_candidates c
JOIN address_calibration k ON k.source = c.source
WHERE c.needs_link AND le.source = c.source AND le.record_id = c.record_id
    AND le.household_pid IS NULL;
UPDATE linked_events
SET household_pid = NULL
WHERE link_status = 'uncertain_token_link'
