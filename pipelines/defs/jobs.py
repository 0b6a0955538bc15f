"""The job `hearth run`, the sensor and the schedule launch: every asset, ingest first."""

import dagster as dg

hearth_full_run = dg.define_asset_job(
    "hearth_full_run",
    selection=dg.AssetSelection.all(),
    description="Ingest the landed months, check, link, build features, train, score, publish.",
)


@dg.definitions
def jobs() -> dg.Definitions:
    return dg.Definitions(jobs=[hearth_full_run])
