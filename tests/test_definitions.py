"""The Dagster definitions load, and every asset is documented, grouped and kinded."""

import dagster as dg

from pipelines.definitions import defs

STAGES = {"ingest", "linkage", "features", "modelling", "publish"}


def test_definitions_load_with_every_stage():
    d = defs()
    keys = {k.to_user_string() for k in d.resolve_all_asset_keys()}
    assert {
        "health_extract",
        "linked_events",
        "household_features",
        "crisis_labels",
        "champion_model",
        "household_scores",
        "published_outputs",
    } <= keys
    groups = {spec.group_name for a in d.resolve_all_asset_specs() for spec in [a]}
    assert groups >= STAGES
    assert d.resolve_job_def("hearth_full_run") is not None


def test_every_asset_has_description_group_and_kinds():
    for spec in defs().resolve_all_asset_specs():
        assert spec.description and len(spec.description) > 40, spec.key
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.kinds, spec.key


def test_ingest_assets_have_blocking_batch_checks():
    d = defs()
    checks = set(d.resolve_asset_graph().asset_check_keys)
    for source in ("addresses", "people", "social_care", "health", "fire", "police"):
        names = {c.name for c in checks if c.asset_key == dg.AssetKey(f"{source}_extract")}
        assert {
            "schema_matches_contract",
            "no_raw_identifiers",
            "volume_in_line",
            "rows_accounted",
            "extract_present",
        } <= names
