-- How many records the current part holds (sql/linkage/link_records_part.sql).
SELECT count(*) FROM link_records_part
