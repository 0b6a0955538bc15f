-- People in the register with tokens (the prior: a record is one of them).
SELECT count(DISTINCT person_pid) FROM link_register
