SELECT * EXCLUDE (as_of, model_version) FROM household_scores ORDER BY rank
