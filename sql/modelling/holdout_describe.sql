-- Each lottery entrant of the list scored at $as_of with the lead the list suggested and the
-- feature behind its first reason, from the month's ranked list (every household is explained,
-- the held out too: hearth/modelling/scoring/score.py).
UPDATE holdout_assignments AS a
SET lead_agency = s.lead_agency, reason_feature = s.reason_1_feature
FROM household_scores AS s
WHERE a.as_of = $as_of
  AND a.in_margin
  AND s.as_of = $as_of
  AND s.household_pid = a.household_pid
