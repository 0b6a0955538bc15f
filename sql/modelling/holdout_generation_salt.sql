-- The salt a generation was first drawn with, so it stays fixed for as long as it lasts.
SELECT salt FROM holdout_decisions WHERE generation = $generation ORDER BY as_of LIMIT 1
