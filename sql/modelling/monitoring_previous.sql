-- The newest ranking kept from a month before this one (none on a first run).
SELECT as_of, household_pid, rank, score, model_version
FROM score_history
WHERE as_of = (SELECT max(as_of) FROM score_history WHERE as_of < $as_of)
ORDER BY rank
