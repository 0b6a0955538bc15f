"""The job `hearth run`, the sensor and the schedule launch: every asset, ingest first."""

import dagster as dg

hearth_full_run = dg.define_asset_job(
    "hearth_full_run",
    selection=dg.AssetSelection.all(),
    description="Ingest the landed months, check, link, build features, train, score, publish.",
    # One process per run: DuckDB takes one writer per file, and steps that only read the
    # warehouse must not overlap one that writes it. The run holds the warehouse (and the run
    # lock) from its first step to its last; see hearth/operations/recovery.py.
    executor_def=dg.in_process_executor,
)


@dg.definitions
def jobs() -> dg.Definitions:
    return dg.Definitions(jobs=[hearth_full_run])
