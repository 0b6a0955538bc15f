"""One asset per source, partitioned by extract month. A run covering several months reads
them all in one step (a single-run backfill), which is how a first load of years of history
stays fast."""

import dagster as dg

from hearth.defs.ingest.checks import REFUSING_CHECKS, batch_check_specs
from hearth.defs.ingest.partitions import extract_months
from hearth.defs.resources import LandingResource, RunSettings, WarehouseResource
from hearth.ingest.freshness import expected_month
from hearth.ingest.removals import verdict
from hearth.ingest.run import ingest_source
from hearth.operations.commit import pause_point, stage, staged
from hearth.operations.removal_audit import audit_removals
from hearth.sources import SOURCES


def _check_results(asset_name: str, report, allow_missing: bool):
    for check in REFUSING_CHECKS:
        problems = report.problems(check)
        yield dg.AssetCheckResult(
            asset_key=asset_name,
            check_name=check,
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR,
            description=" ".join(problems) if problems else "passed",
            metadata={"problems": len(problems)},
        )
    fresh = report.freshness
    stale = fresh is not None and fresh.stale
    gaps = report.gap_sentence()
    missing = [fresh.sentence()] if stale else []
    missing += [gaps] if gaps else []
    # A missing or late extract is never a passed check: a warning when this run allows it,
    # an error when it stops the run.
    yield dg.AssetCheckResult(
        asset_key=asset_name,
        check_name="extract_present",
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN if allow_missing else dg.AssetCheckSeverity.ERROR,
        description=(
            " ".join(missing)
            + (
                " Going on without it: missing sources are allowed for this run."
                if allow_missing
                else " The run stops unless missing sources are allowed (hearth run "
                "--allow-missing-sources)."
            )
            if missing
            else "passed"
        ),
        metadata={
            "status": fresh.status if fresh else "no months in the run",
            "expected_month": (fresh.expected_month if fresh else None) or "",
            "newest_month": (fresh.newest_month if fresh else None) or "",
            "due_by": (fresh.due_by if fresh else None) or "",
            "missing_months_inside_history": ", ".join(report.gaps),
        },
    )
    unread = report.blocking_unread
    ignored = [u for u in report.unread if not u.blocking]
    yield dg.AssetCheckResult(
        asset_key=asset_name,
        check_name="all_files_read",
        passed=not unread,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            " ".join(f"{asset_name.removesuffix('_extract')}: {u.sentence()}" for u in unread)
            + " Nothing is published until every file is read: fix or remove it and run again."
            if unread
            else "every file was read"
            + (f" ({len(ignored)} hidden or system file(s) ignored)" if ignored else "")
        ),
        metadata={
            "not_read": len(unread),
            "ignored": len(ignored),
            "months_dropped_no_longer_landed": ", ".join(report.dropped),
            "months_judged_again": ", ".join(report.rejudged),
        },
    )
    source = asset_name.removesuffix("_extract")
    severity, text = verdict(source, report.withheld, report.unmatched, allow_missing)
    yield dg.AssetCheckResult(
        asset_key=asset_name,
        check_name="removals_accepted",
        passed=severity is None,
        severity=dg.AssetCheckSeverity.WARN if severity == "WARN" else dg.AssetCheckSeverity.ERROR,
        description=text,
        metadata={
            "removals_listed": len(report.withheld),
            "removals_applied": len(report.removed),
            "rows_kept_not_landed": sum(r.rows_accepted for r in report.not_landed_kept),
            "newest_month_held": report.newest_held or "",
            # what to paste into the launchpad to accept this list (hearth run --accept-removals
            # reads it from the warehouse)
            "accept_removals": dg.MetadataValue.json([r.key for r in report.withheld]),
        },
    )
    errors = report.accounting_errors
    yield dg.AssetCheckResult(
        asset_key=asset_name,
        check_name="rows_accounted",
        passed=not errors,
        description=" ".join(errors) if errors else "received = accepted + quarantined",
    )


def _cell(text: str) -> str:
    """A landed file's name (already printable) as one markdown table cell: a '|' in it must
    not split the row."""
    return text.replace("|", "\\|")


def make_ingest_asset(source: str, months: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    name = f"{source}_extract"
    src = SOURCES[source]

    @dg.asset(
        name=name,
        group_name="ingest",
        kinds={"duckdb", "polars", src.file_format},
        partitions_def=months,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=batch_check_specs(name),
        pool="warehouse",
        description=(
            f"The {source.replace('_', ' ')} extract ({src.kind}, {src.file_format.upper()}), "
            "read against its data contract into raw_"
            f"{source}. Rows that break a rule go to the quarantine table; an extract that "
            "fails a batch check is not loaded and stops the run."
        ),
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        landing: LandingResource,
        run_settings: RunSettings,
    ):
        months = list(context.partition_keys)
        accept = frozenset(run_settings.accept_removals)
        if accept and context.run.tags.get("hearth/trigger") == "landing_sensor":
            raise dg.Failure(
                description="The landing sensor's runs never accept removals; accept them with "
                "hearth run --accept-removals or from the launchpad.",
                allow_retries=False,
            )
        pause_point(f"ingesting {source}")  # tests only: a signal at a known place in a step
        with warehouse.connect() as con:
            report = ingest_source(
                con,
                landing.resolved(),
                source,
                months,
                run_settings.volume_tolerance,
                expected=expected_month(run_settings.as_of, months),
                accepted_removals=accept,
            )
        if report.removed:
            # recorded in the audit, with who ran it, when (and only if) the run commits
            done = (staged(warehouse.resolved()).get("removals") or {}).get("applied") or []
            applied = [*done, *(r.to_dict() for r in report.removed)]
            via = context.run.tags.get("hearth/trigger") or "Dagster launchpad"
            if not stage(warehouse.resolved(), "removals", {"applied": applied, "via": via}):
                audit_removals(applied, context.run_id, via)  # no run commit: applied now
        loaded = [r for r in report.results if r.status == "loaded"]
        for r in report.results:
            if r.status == "refused":
                context.log.error(r.message)
        if report.removed:
            context.log.warning(
                f"{source}: removed as accepted: " + " ".join(r.sentence() for r in report.removed)
            )
        for r in report.withheld:
            context.log.warning(f"kept, not removed: {r.sentence()}")
        if report.rejudged:
            context.log.info(
                f"{source}: {', '.join(report.rejudged)} judged again after an earlier month "
                "changed."
            )
        yield dg.MaterializeResult(
            metadata={
                "months_in_run": len(months),
                "files_loaded": len(loaded),
                "files_unchanged": sum(r.status == "unchanged" for r in report.results),
                "files_refused": sum(r.status == "refused" for r in report.results),
                "rows_received": sum(r.rows_received for r in report.results),
                "rows_accepted": sum(r.rows_accepted for r in report.results),
                "rows_quarantined": sum(r.rows_quarantined for r in report.results),
                "by_month": dg.MetadataValue.md(
                    "| month | file | status | received | accepted | quarantined |\n"
                    "|---|---|---|---|---|---|\n"
                    + "\n".join(
                        f"| {r.month} | {_cell(r.file_name)} | {r.status} | {r.rows_received} | "
                        f"{r.rows_accepted} | {r.rows_quarantined} |"
                        for r in report.results
                    )
                ),
            }
        )
        yield from _check_results(name, report, run_settings.allow_missing_sources)

    return _ingest


def build_ingest_assets(start: str | None = None) -> list[dg.AssetsDefinition]:
    """Every source's extract asset, on one partitions definition from `start` (default: the
    first month landed, read now: hearth/defs/ingest/partitions.py)."""
    months = extract_months(start)
    return [make_ingest_asset(s, months) for s in SOURCES]


@dg.definitions
def ingest_definitions() -> dg.Definitions:
    """Built when the definitions load, so the partitions start at the first landed month."""
    return dg.Definitions(assets=build_ingest_assets())
