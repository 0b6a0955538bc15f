-- How many published lists before $end_month drew a hold-out lottery that held someone out
-- (a share above 0): only such a lottery can tell what an offer does (issue 26).
SELECT count(*) FROM holdout_decisions
WHERE as_of < $end_month AND share > 0 AND held_out > 0
