"""The quality gate: one step, after every extract of the run is ingested, that runs the
`expectations` check of each source and stops the run when anything in the extracts is wrong.

- `expectations` (one per source, blocking): the GX suite expectations/<source>.json on the rows
  ingest accepted for the months in the run, in DuckDB through GX
  (hearth/quality/suite_check.py). Results and counts go into the check's metadata (a table),
  never values. It runs even when a batch check refused a file, on the rows that were accepted.
- the gate: the batch checks of the extracts (hearth/defs/ingest/checks.py) report their
  result and severity but do not stop the run themselves; this step reads them back from the
  run and, if any failed with ERROR severity or an expectation broke, fails with one
  `dagster.Failure` holding every problem's sentence, of every source, with no stack trace.
  Dagster's run failure carries its description, so the run's page says why. A missing source
  that the run allows is a WARN, which does not stop it.

GX is imported only when the gate runs, so loading these definitions stays fast."""

import dagster as dg

from hearth.defs.ingest.checks import REFUSING_CHECKS
from hearth.defs.resources import WarehouseResource
from hearth.operations.alerts import STOPPED_BY_CHECKS, stop_from_instance
from hearth.quality.suite_check import check_accepted_rows
from hearth.sources import SOURCES

GATE = "quality_gate"


def _months_in_run(context: dg.AssetCheckExecutionContext) -> list[str] | None:
    """The extract months of the run (a partition range); None for a run without partitions,
    meaning every loaded month."""
    try:
        return list(context.partition_keys)
    except Exception:  # Dagster raises when the run has no partitions
        return None


def _spec(source: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        "expectations",
        asset=f"{source}_extract",
        blocking=True,
        description=(
            f"GX suite expectations/{source}.json (generated from data_contracts/{source}.yaml) "
            "on the rows ingest accepted for the months in the run, validated in DuckDB. They "
            "should always pass: a failure means rows that break the contract got past the "
            "quarantine, and the run stops. The step that runs it (the quality gate) also "
            "stops the run when a batch check on any extract failed, naming every problem."
        ),
    )


def gate_failure(sentences: list[str]) -> dg.Failure:
    """The run's stop, every problem in one description: what the run page leads with."""
    n = len(sentences)
    return dg.Failure(
        description=(
            f"The run stopped on {n} problem{'s' if n != 1 else ''} in the extracts; nothing "
            "after ingest ran.\n" + "\n".join(f"• {s}" for s in sentences)
        ),
        metadata={
            STOPPED_BY_CHECKS: n,
            "problems": dg.MetadataValue.md("\n".join(f"- {s}" for s in sentences)),
        },
        allow_retries=False,
    )


@dg.multi_asset_check(
    name=GATE,
    specs=[_spec(s) for s in SOURCES],
    can_subset=True,
    pool="warehouse",
    description=(
        "The expectations check of each extract in the run, and the gate after them: the run "
        "stops here, with every problem's sentence, when a batch check failed (ERROR) or an "
        "expectation broke."
    ),
)
def quality_gate(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    months = _months_in_run(context)
    # what the ingest steps of this run reported, read back from the run's log before this
    # step adds its own results
    stop = stop_from_instance(context.instance, context.op_execution_context.run_id)
    stopped = stop.sentences()
    keys = sorted(context.selected_asset_check_keys, key=lambda k: k.asset_key.to_user_string())
    broken = []
    with warehouse.connect() as con:
        for key in keys:
            source = key.asset_key.to_user_string().removesuffix("_extract")
            result = check_accepted_rows(con, source, months)
            meta = result.metadata()
            refused = [
                c
                for a, c, _ in stop.checks
                if a == key.asset_key.to_user_string() and c in REFUSING_CHECKS
            ]
            note = (
                f" A file of the run was refused ({', '.join(refused)}) and not loaded: only the "
                "rows accepted before it were checked."
                if refused
                else ""
            )
            yield dg.AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=result.passed,
                severity=dg.AssetCheckSeverity.ERROR,
                description=result.describe() + note,
                metadata={**meta, "results": dg.MetadataValue.md(meta["results"])},
            )
            if not result.passed:
                broken.append(
                    f"[{key.asset_key.to_user_string()} · {key.name}] {result.describe()}"
                )
    sentences = stopped + broken
    if sentences:
        raise gate_failure(sentences)


expectation_checks = [quality_gate]
