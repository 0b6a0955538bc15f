-- Each household held out of a list scored in [$start_month, $end_month), with the chance it
-- had of being held out at its first draw there: that list's held-out count over its lottery's
-- entrants (hearth/modelling/holdout.py). Safe updating weights the household by 1 / chance, so
-- the held-out stand for every household of the lottery the list changed.
SELECT a.household_pid, arg_min(d.held_out::DOUBLE / d.band, a.as_of) AS chance
FROM holdout_assignments AS a
JOIN holdout_decisions AS d ON d.as_of = a.as_of
WHERE a.held_out AND d.band > 0 AND d.held_out > 0
    AND a.as_of >= $start_month AND a.as_of < $end_month
GROUP BY a.household_pid
