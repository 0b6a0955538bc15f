-- Quarantined rows go by the month they arrived in: a held row's own date may be what was
-- wrong with it. $cutoff_month is the first extract month still kept.
DELETE FROM quarantine WHERE source = $source AND extract_month < $cutoff_month
RETURNING extract_month AS month
