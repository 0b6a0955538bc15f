-- Template, for each register: a register row is the truth from its date until the next row
-- for the same household or person; it goes once it stopped being true before the cut-off (a
-- newer row dated before it). The current row stays while it is current, however old its
-- date: it is the register.
DELETE FROM {raw_table} a WHERE EXISTS (
    SELECT 1 FROM {raw_table} b
    WHERE b.{register_key} = a.{register_key} AND b.{date_column} < $cutoff
      AND (b.{date_column}, b._extract_month, b._row_number)
          > (a.{date_column}, a._extract_month, a._row_number)
)
RETURNING _extract_month AS month
