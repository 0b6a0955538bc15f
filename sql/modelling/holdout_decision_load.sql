-- One month's hold-out decision (counts and settings, no pseudonym).
SELECT generation, share, capacity, held_out, band, margin, approved_by
FROM holdout_decisions WHERE as_of = $as_of
