-- Template, for the person register: the oldest day a row stopped being true (the next row for
-- the same person, or the person's departure). Current rows are the register, kept while current.
WITH ended AS (
    SELECT CASE
               WHEN lead({date_column}) OVER w IS NOT NULL THEN lead({date_column}) OVER w
               WHEN status = 'LEFT_AREA' THEN {date_column}
           END AS ended
    FROM {person_register}
    WINDOW w AS (
        PARTITION BY {register_key} ORDER BY {date_column}, _extract_month, _row_number)
)
SELECT min(ended) AS oldest, count(*) AS rows FROM ended
