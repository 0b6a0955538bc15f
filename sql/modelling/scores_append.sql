-- The next households of this run's ranked list (hearth/modelling/scoring/ranking.py:
-- store_scores writes the list in pieces, in one transaction).
INSERT INTO household_scores BY NAME SELECT * FROM scores_frame
