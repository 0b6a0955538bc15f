-- Template, for the person register: a person who left the area before the cut-off. The
-- departure is their current row, and it goes too (what went before it went by
-- sql/quality/retention_register.sql).
DELETE FROM {person_register} a WHERE a.status = 'LEFT_AREA'
  AND a.{date_column} < $cutoff
  AND NOT EXISTS (
    SELECT 1 FROM {person_register} b
    WHERE b.{register_key} = a.{register_key}
      AND (b.{date_column}, b._extract_month, b._row_number)
          > (a.{date_column}, a._extract_month, a._row_number)
)
RETURNING _extract_month AS month
