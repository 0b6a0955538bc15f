-- What a stopped run keeps of its warehouse (hearth/operations/commit.py): the records an officer
-- looks at to see why it stopped - the refusals, what under the landing was not read, and the
-- removals it would make - and nothing else: no accepted row, quarantine or load changes. The
-- run's copies are registered as kept_<table>; a table the copy lacks is registered empty.
DELETE FROM batch_refusals;
INSERT INTO batch_refusals SELECT * FROM kept_batch_refusals;
DELETE FROM landing_issues;
INSERT INTO landing_issues SELECT * FROM kept_landing_issues;
DELETE FROM removals_pending;
INSERT INTO removals_pending SELECT * FROM kept_removals_pending;
