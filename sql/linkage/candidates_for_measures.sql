-- Every candidate with its raw and (once recalibrated) its link probability and the labels its
-- record's exact keys give; nothing that identifies (person and record ids are pseudonyms).
SELECT source, record_id, needs_link, rank, person_pid, household_pid, weight, raw_probability,
       link_probability, person_label, household_label
FROM link_candidates
