-- Template, run for each event source's contract (hearth/linkage/link.py): its accepted events
-- in the shape every source shares. The contract marks which columns are the person and
-- household keys (linkKey; NULL where the source has none) and how the event code is made
-- (eventCode): `<source>:<qualifiers>:<kind>` then `:<detail>`, the first detail present (the
-- codes the feature catalogue counts). An event is a crisis when its code matches $crisis, the contracts' crisisEvents
-- (hearth/sources.py: crisis_pattern).
INSERT INTO events
SELECT $source, {record_key}, {person_key}, {household_key}, {date_column}, _extract_month,
       _event_code, regexp_full_match(_event_code, $crisis)
FROM (
    SELECT *, array_to_string(list_concat(
        [$source], [{qualifier_columns}]::VARCHAR[], [{kind_column}],
        list_filter([{detail_columns}]::VARCHAR[], lambda d: d IS NOT NULL)[1:1]
    ), ':') AS _event_code
    FROM {raw_table}
);
