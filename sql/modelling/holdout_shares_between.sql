-- The hold-out decisions of the lists scored in [$start_month, $end_month): how many, and the
-- smallest share among them (a share of 0 leaves nothing unchanged by the list), the held-out
-- and how many lists drew at the capacity margin only (a margin set: not the whole list).
SELECT count(*), min(share), sum(held_out), count(margin) FROM holdout_decisions
WHERE as_of >= $start_month AND as_of < $end_month
