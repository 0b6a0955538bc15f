"""The expectation suites as blocking asset checks: one `expectations` check per ingested
source, run on the accepted rows of the months in the run, in DuckDB through GX
(hearth/quality/suite_check.py). Results and counts go into the check's metadata, never values.
GX is imported only when a check runs, so loading these definitions stays fast."""

import dagster as dg

from hearth.quality.suite_check import check_accepted_rows
from hearth.sources import SOURCES
from pipelines.resources import WarehouseResource


def _months_in_run(context: dg.AssetCheckExecutionContext) -> list[str] | None:
    """The extract months of the run (a partition range); None for a run without partitions,
    meaning every loaded month."""
    try:
        return list(context.partition_keys)
    except Exception:  # Dagster raises when the run has no partitions
        return None


def make_expectations_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=f"{source}_extract",
        name="expectations",
        blocking=True,
        pool="warehouse",
        description=(
            f"GX suite expectations/{source}.json (generated from data_contracts/{source}.yaml) "
            "on the rows ingest accepted for the months in the run, validated in DuckDB. They "
            "should always pass: a failure means rows that break the contract got past the "
            "quarantine, and the run stops."
        ),
    )
    def _expectations(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            result = check_accepted_rows(con, source, _months_in_run(context))
        return dg.AssetCheckResult(
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.describe(),
            metadata=result.metadata(),
        )

    return _expectations


expectation_checks = [make_expectations_check(s) for s in SOURCES]
