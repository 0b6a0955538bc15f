-- Template, run for each source's contract (hearth/warehouse.py: connect): the source's accepted
-- rows, typed as its contract says, with the extract month they arrived in and their row number
-- in that file. Names in braces are from the contract (hearth/sources.py: sql_names).
CREATE TABLE IF NOT EXISTS {raw_table} (
    {column_definitions},
    _row_number BIGINT, _extract_month VARCHAR
);
