-- The partnership's routing (hearth/linkage/partnership.py), after hearth/linkage/link.py has
-- linked the partnership's whole landing as one warehouse would (exact keys, then tokens, then
-- address-only records): for each event record no exact key placed, the authority of the
-- household its best link chose, or why none (the link's own status: `uncertain_token_link`
-- below the floor; `no_candidate` where it carried tokens and met no one; otherwise the exact
-- linkage's reason). Only counts and authority codes leave this table, never a token.
CREATE OR REPLACE TABLE route_tokens AS
WITH newest AS (
    SELECT source, record_id, household_pid, link_status
    FROM linked_events
    WHERE link_status NOT IN ('linked_by_household_key', 'linked_by_person_key')
    QUALIFY row_number() OVER (
        PARTITION BY source, record_id ORDER BY arrival_month DESC, event_date DESC
    ) = 1
),
with_tokens AS (
    SELECT DISTINCT source, record_id FROM link_records WHERE needs_link
    UNION
    SELECT DISTINCT source, record_id FROM address_records WHERE needs_link
)
SELECT
    n.source, n.record_id,
    CASE WHEN n.link_status = 'linked_by_tokens' THEN h.la_code END AS la_code,
    CASE
        WHEN n.link_status = 'linked_by_tokens' AND h.la_code IS NOT NULL THEN NULL
        WHEN n.link_status = 'uncertain_token_link' THEN 'uncertain_token_link'
        WHEN t.record_id IS NOT NULL THEN 'no_candidate'
        ELSE n.link_status
    END AS reason
FROM newest n
LEFT JOIN households h ON n.household_pid = h.household_pid
LEFT JOIN with_tokens t ON t.source = n.source AND t.record_id = n.record_id
