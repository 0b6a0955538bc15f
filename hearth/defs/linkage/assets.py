"""Linkage: events to people to households as at each event's date."""

import dagster as dg

from hearth import settings
from hearth.defs.resources import MlflowResource, WarehouseResource
from hearth.linkage.link import link, linkage_by_source
from hearth.linkage.model_store import ModelStore
from hearth.linkage.probabilistic import measures, metadata
from hearth.sources import SOURCES
from hearth.warehouse import query


@dg.asset(
    group_name="linkage",
    kinds={"duckdb", "sql", "splink", "mlflow"},
    # after retention (hearth/defs/quality/retention.py): nothing past it is linked
    deps=[*(f"{s}_extract" for s in SOURCES), "retention"],
    pool="warehouse",
)
def linked_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, mlflow: MlflowResource
):
    """Every accepted event linked to the household it happened in: by the agency's household
    key where given and known, otherwise through the person register's address on the event
    date (people move); exact keys are authoritative (link_probability 1). Records with no
    exact key but keyed-hash tokens are linked to the person register by splink
    (hearth/linkage/probabilistic.py), with the recalibrated probability of their best link;
    the linkage model is versioned in MLflow (hearth_record_linkage) and retrained by the
    rule in hearth/linkage/model_store.py. Unlinked events are kept with the reason: no key,
    unknown pid, no household at that date, or a token link below 0.5."""
    store = ModelStore(mlflow.registry().client, settings.mlflow_artifact_root())
    with warehouse.connect() as con:
        summary = link(con, store, progress=context.log.info)
        kept = measures(con) or {}
    by_source = linkage_by_source(summary)
    return dg.MaterializeResult(
        metadata={
            **{f"linkage_rate_{s}": v["linkage_rate"] for s, v in by_source.items()},
            "events": sum(v["events"] for v in by_source.values()),
            "linkage": dg.MetadataValue.json(by_source),
            **metadata(kept),
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
