-- Template, for the source being checked: its accepted rows in the months named for it in
-- quality.months_checked. A view takes no bound parameter, so the source's name is written in
-- as text, quoted from its contract. Names are schema-qualified because GX sets the search path
-- to the `quality` schema.
CREATE OR REPLACE VIEW quality.{source_table} AS
SELECT * FROM main.{raw_table}
WHERE _extract_month IN (
    SELECT extract_month FROM quality.months_checked WHERE source = {source_text});
