-- An officer's review of one household's uncertain links (hearth/privacy/reidentify.py:
-- uncertain_links): the records the list's features read for it (dated in the $months before
-- the as-of date, arrived before its month) that were linked with less than high confidence
-- (link_probability below $high, the feature catalogue's link_confidence), from the sources the
-- role may review. Record ids, dates and probabilities only: never a token.
SELECT source, record_id, event_date, link_probability
FROM linked_events
WHERE household_pid = $household
  AND link_probability < $high
  AND list_contains($sources, source)
  AND event_date < $as_of
  AND event_date >= $as_of - to_months($months)
  AND arrival_month < $as_of_month
ORDER BY link_probability, event_date, source, record_id
