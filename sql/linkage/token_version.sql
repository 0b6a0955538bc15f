-- The token version the person register's tokens carry (the most common; the newest on a tie):
-- records of another version cannot agree with it and are not linked by tokens.
SELECT token_version
FROM {person_register}
WHERE token_version IS NOT NULL
GROUP BY ALL
ORDER BY count(*) DESC, token_version DESC
LIMIT 1
