"""Linkage: events to people to households as at each event's date."""

import dagster as dg

from hearth.defs.resources import WarehouseResource
from hearth.linkage.link import link, linkage_by_source
from hearth.sources import SOURCES
from hearth.warehouse import query


@dg.asset(
    group_name="linkage",
    kinds={"duckdb", "sql"},
    # after retention (hearth/defs/quality/retention.py): nothing past it is linked
    deps=[*(f"{s}_extract" for s in SOURCES), "retention"],
    pool="warehouse",
)
def linked_events(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Every accepted event linked to the household it happened in: by the agency's household
    key where given and known, otherwise through the person register's address on the event
    date (people move). Unlinked events are kept with the reason: no key, unknown pid, or no
    household at that date."""
    with warehouse.connect() as con:
        summary = link(con)
    by_source = linkage_by_source(summary)
    return dg.MaterializeResult(
        metadata={
            **{f"linkage_rate_{s}": v["linkage_rate"] for s, v in by_source.items()},
            "events": sum(v["events"] for v in by_source.values()),
            "linkage": dg.MetadataValue.json(by_source),
        }
    )


@dg.asset_check(
    asset=linked_events,
    description="Each source links at least 80% of its events.",
    pool="warehouse",
)
def linkage_rate_reasonable(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        by_source = linkage_by_source(query(con, "linkage/summary").pl())
    low = {s: v["linkage_rate"] for s, v in by_source.items() if (v["linkage_rate"] or 0) < 0.8}
    return dg.AssetCheckResult(
        passed=not low,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "; ".join(f"{s} links only {r:.0%} of its events" for s, r in low.items())
            if low
            else "every source links at least 80% of its events"
        ),
        metadata={f"rate_{s}": v["linkage_rate"] for s, v in by_source.items()},
    )
