-- Each lottery entrant of the list scored at $as_of with the lead the list suggested and the
-- feature behind its first reason, from the month's ranked list (the entrants are within the
-- published top, which the scoring step explains, the held out too: hearth/publish/deliver.py:
-- shown_by_default).
UPDATE holdout_assignments AS a
SET lead_agency = s.lead_agency, reason_feature = s.reason_1_feature
FROM household_scores AS s
WHERE a.as_of = $as_of
  AND a.in_margin
  AND s.as_of = $as_of
  AND s.household_pid = a.household_pid
