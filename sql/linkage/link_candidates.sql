-- Each record's candidate people from the splink predictions (the table link_pairs, made by
-- hearth/linkage/splink_model.py: predict): a person scores the best of their register identities;
-- candidates ranked by match weight (rank 1 is the best link), at most $max_candidates kept.
-- Each candidate's household is where that person lived on the event date. The labels are
-- what the record's exact keys say (NULL where it has none).
CREATE OR REPLACE TABLE link_candidates AS
WITH pairs AS (
    SELECT
        CASE WHEN starts_with(unique_id_l, 'E#') THEN unique_id_l ELSE unique_id_r END AS rec,
        CASE WHEN starts_with(unique_id_l, 'E#') THEN unique_id_r ELSE unique_id_l END AS reg,
        match_weight, match_probability
    FROM link_pairs
),
per_person AS (
    SELECT p.rec, g.person_pid, max(p.match_weight) AS weight,
           max(p.match_probability) AS raw_probability
    FROM pairs p
    JOIN link_register g ON g.unique_id = p.reg
    GROUP BY ALL
),
ranked AS (
    SELECT *,
        row_number() OVER (PARTITION BY rec ORDER BY weight DESC, person_pid) AS rank,
        count(*) OVER (PARTITION BY rec) AS candidates
    FROM per_person
    QUALIFY rank <= $max_candidates
)
SELECT
    r.source, r.record_id, r.event_date, r.needs_link, k.rank, k.candidates, k.person_pid,
    res.household_pid, k.weight, k.raw_probability,
    CASE WHEN r.key_person IS NOT NULL THEN k.person_pid = r.key_person END AS person_label,
    CASE WHEN r.key_household IS NOT NULL
        THEN res.household_pid IS NOT DISTINCT FROM r.key_household END AS household_label,
    NULL::DOUBLE AS link_probability  -- recalibrated in sql/linkage/token_links.sql
FROM ranked k
JOIN link_records r ON r.unique_id = k.rec
ASOF LEFT JOIN residence res ON k.person_pid = res.person_pid AND r.event_date >= res.valid_from;
