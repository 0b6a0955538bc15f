"""Point-in-time household features and crisis labels."""

import dagster as dg

from hearth.defs.resources import RunSettings, WarehouseResource
from hearth.features.build import build_feature_sets


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "household_features",
            group_name="features",
            kinds={"duckdb", "polars"},
            deps=["linked_events"],
            description=(
                "Household features at the scoring date T and at T-12 and T-24: counts and "
                "recency of each agency's records over 3, 6, 12, 24 and 36 months, trends, "
                "themes (related records across agencies), household composition, area and "
                "cross-agency combinations, from events strictly before each date that had "
                "arrived by then. Described in sql/features/catalogue.yaml."
            ),
        ),
        dg.AssetSpec(
            "crisis_labels",
            group_name="features",
            kinds={"duckdb", "sql"},
            deps=["linked_events"],
            description=(
                "Whether each household had a crisis (emergency admission, dwelling fire, "
                "high-risk domestic abuse, child protection plan or a child becoming looked "
                "after) in the 12 months after T-24 and after T-12."
            ),
        ),
    ],
    pool="warehouse",
)
def feature_sets(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, run_settings: RunSettings
):
    """Build features and labels for the temporal design around the run's as-of date."""
    with warehouse.connect() as con:
        design = run_settings.design(con)
        rows = build_feature_sets(con, design)
    context.log.info(f"Features built for {rows}")
    meta = {
        "score_as_of": design.score_as_of,
        "valid_as_of": design.valid_as_of,
        "train_as_of": design.train_as_of,
    }
    yield dg.MaterializeResult(
        asset_key="household_features",
        metadata={**meta, **{f"households_{k}": v for k, v in rows.items()}},
    )
    yield dg.MaterializeResult(asset_key="crisis_labels", metadata=meta)
