-- The monitoring report of one month, for the published report.
SELECT report FROM monitoring WHERE as_of = $as_of
