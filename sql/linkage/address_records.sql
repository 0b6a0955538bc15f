-- Records that carry an address but no name or date of birth (fire: the address is all it
-- records), filled per source by sql/linkage/source_address_records.sql and linked to the
-- household at that premise by sql/linkage/address_links.sql.
CREATE OR REPLACE TABLE address_records (
    source VARCHAR,
    record_id VARCHAR,
    key_household VARCHAR,  -- the household the exact key linked it to (a label)
    needs_link BOOLEAN,
    premise_token VARCHAR
)
