-- Records needing a token link, labelled records (linked by an exact key), register identities.
SELECT
    (SELECT count(*) FROM link_records WHERE needs_link),
    (SELECT count(*) FROM link_records WHERE NOT needs_link),
    (SELECT count(*) FROM link_register)
