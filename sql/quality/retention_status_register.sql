-- Template, for each register but the person register: the oldest day a row stopped being true
-- (the next row for the same key). A register's current rows are the register, kept while current.
WITH ended AS (
    SELECT lead({date_column}) OVER (
               PARTITION BY {register_key} ORDER BY {date_column}, _extract_month, _row_number
           ) AS ended
    FROM {raw_table}
)
SELECT min(ended) AS oldest, count(*) AS rows FROM ended
