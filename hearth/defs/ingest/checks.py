"""The batch-level checks each extract asset reports, each with its severity: ERROR for a
problem that stops the run, WARN for one the run was told to go on without (a missing source
under --allow-missing-sources or the landing sensor's catch-up runs). Their description names
the source, file, column and rule. They do not stop the run themselves: the quality gate
(hearth/defs/quality/checks.py) runs once every extract is ingested and stops it with every
ERROR problem of every source in one failure, so nothing downstream runs."""

import dagster as dg

BATCH_CHECKS = {
    "file_readable": "The file opens: UTF-8 text or sound Parquet, well-formed rows.",
    "not_empty": "The extract has rows.",
    "schema_matches_contract": "Columns, delimiter and value formats are as the contract says.",
    "no_raw_identifiers": "No NHS number, postcode, e-mail, phone number or date of birth, and "
    "no column named like one.",
    "extract_month_matches_folder": "Record dates agree with the month folder the file sits in.",
    "volume_in_line": "The row count is in line with what the source's contract expects.",
    "extract_present": "The source sent an extract for the newest month, and for every month "
    "between its first and its newest.",
    "all_files_read": "Every file under the source's landing folder was read, or is a hidden or "
    "system file: nothing landed goes unread.",
    "rows_accounted": "Every received row was accepted or quarantined: received = accepted + "
    "quarantined, checked against the warehouse.",
    "removals_accepted": "No accepted record leaves the warehouse unless an officer accepted it: "
    "a month no longer landed, or landed again with far fewer rows, is kept and listed until "
    "`hearth run --accept-removals` (hearth/ingest/removals.py).",
}


# The checks whose failure means a file was refused (not loaded); the others judge what is
# missing, unread or unaccounted for.
REFUSING_CHECKS = tuple(
    c
    for c in BATCH_CHECKS
    if c not in ("extract_present", "rows_accounted", "all_files_read", "removals_accepted")
)


def batch_check_specs(asset_name: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=asset_name, description=text)
        for name, text in BATCH_CHECKS.items()
    ]
