-- The token records of one part of the records, as splink reads them (the columns of
-- link_records_in): one source's ($source), or, with $source NULL, every source not in $own
-- (those scored by the pooled m). hearth/linkage/splink_model.py trains and predicts each part
-- with its own m.
CREATE OR REPLACE TEMP TABLE link_records_part AS
SELECT i.*
FROM link_records_in i
JOIN link_records r ON r.unique_id = i.unique_id
WHERE CASE WHEN $source IS NULL THEN NOT list_contains($own::VARCHAR[], r.source) ELSE r.source = $source END;
