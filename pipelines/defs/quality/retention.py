"""Retention as the contracts say: records older than their contract allows leave the run's copy
of the warehouse before linkage reads it (hearth/quality/retention.py)."""

import dagster as dg

from hearth.features.build import features_folder
from hearth.operations.commit import delete_expired, stage
from hearth.quality.retention import (
    apply_retention,
    derived_cutoff,
    expired_files,
    record_files,
)
from hearth.sources import SOURCES
from pipelines.resources import OutputsResource, RunSettings, WarehouseResource


@dg.asset(
    group_name="quality",
    kinds={"duckdb", "sql"},
    deps=[f"{s}_extract" for s in SOURCES],
    pool="warehouse",
)
def retention(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    outputs: OutputsResource,
    run_settings: RunSettings,
):
    """Each contract's `slaProperties: retention`, applied: accepted and quarantined rows,
    linked events and the rankings kept between months that are older than their contract
    allows are deleted and counted per source (`retention_log`, run_summary.json); feature
    files and published folders as of a month past the shortest retention go when the run
    commits (never the latest). Everything happens in the run's copy of the warehouse, so an
    interrupted run deletes nothing."""
    with warehouse.connect() as con:
        result = apply_retention(con)
        design = run_settings.design(con)
        keep = {design.train_as_of, design.valid_as_of, design.score_as_of}
        cutoff = derived_cutoff(result.limits)
        files = expired_files(outputs.resolved(), features_folder(con), cutoff, keep)
        record_files(con, result, files)
    # old files, and model versions trained only on records past retention, go at the commit
    change = {
        "paths": result.files,
        "outputs": str(outputs.resolved()),
        "models_before": cutoff.strftime("%Y-%m"),
    }
    if not stage(warehouse.resolved(), "retention", change):
        # outside a shadowed run (a test's materialisation): the files at once, no models
        delete_expired(change)
    context.log.info(result.sentence())
    summary = result.summary()
    return dg.MaterializeResult(
        metadata={
            "rows_deleted": sum(d["rows"] for d in result.deleted if d["kind"] != "derived"),
            "files_deleted": len(files),
            "retention": dg.MetadataValue.json(summary),
        }
    )
