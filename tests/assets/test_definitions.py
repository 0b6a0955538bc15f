"""The Dagster definitions load, and every asset is documented, grouped and kinded."""

import dagster as dg

from hearth.definitions import defs

STAGES = {"ingest", "linkage", "features", "modelling", "publish"}


def test_definitions_load_with_every_stage():
    d = defs()
    keys = {k.to_user_string() for k in d.resolve_all_asset_keys()}
    assert {
        "health_extract",
        "retention",
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
    # linkage reads only what retention left (hearth/defs/quality/retention.py)
    graph = d.resolve_asset_graph()
    assert dg.AssetKey("retention") in graph.get(dg.AssetKey("linked_events")).parent_keys


def test_every_asset_has_description_group_and_kinds():
    for spec in defs().resolve_all_asset_specs():
        assert spec.description and len(spec.description) > 40, spec.key
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.kinds, spec.key


def test_ingest_assets_have_batch_checks_and_one_gate_that_blocks():
    """The batch checks report (ERROR or WARN); the quality gate's expectations check, run once
    every extract is in, is the one that blocks, so a stop names every problem at once."""
    d = defs()
    graph = d.resolve_asset_graph()
    checks = set(graph.asset_check_keys)
    for source in ("addresses", "people", "social_care", "health", "fire", "police"):
        names = {c.name for c in checks if c.asset_key == dg.AssetKey(f"{source}_extract")}
        assert {
            "schema_matches_contract",
            "no_raw_identifiers",
            "volume_in_line",
            "rows_accounted",
            "extract_present",
            "expectations",
        } <= names
        blocking = {
            c.name
            for c in checks
            if c.asset_key == dg.AssetKey(f"{source}_extract") and graph.get_check_spec(c).blocking
        }
        assert blocking == {"expectations"}


def test_loading_definitions_imports_no_heavy_library():
    """Loading the definitions (every UI refresh, every sensor tick) must not pull in
    scikit-learn, Great Expectations, MLflow or shap: they load inside the steps."""
    import subprocess
    import sys

    code = (
        "import sys; import hearth.definitions as d; d.defs(); "
        "print(sorted(m for m in ('sklearn', 'great_expectations', 'mlflow', 'shap') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_run_tags_hearth_sets_are_dagsters_own():
    """hearth/defs/tags.py writes Dagster's documented tag strings rather than importing its
    private constants: this fails if a Dagster upgrade renames them."""
    from dagster._core.storage import tags as dagster_tags

    from hearth.defs import tags

    assert tags.PARTITION_RANGE_START == dagster_tags.ASSET_PARTITION_RANGE_START_TAG
    assert tags.PARTITION_RANGE_END == dagster_tags.ASSET_PARTITION_RANGE_END_TAG
    assert tags.PARTITION_NAME == dagster_tags.PARTITION_NAME_TAG


def test_the_partnership_job_maps_a_step_per_authority_and_documents_every_step():
    """hearth_partnership (hearth/defs/operations/partnership.py): the authorities are dynamic
    outputs (decided when a run starts, not when the definitions load), prepared and scored by
    mapped steps around the one model step; multiprocess unless run config says otherwise."""
    job = defs().resolve_job_def("hearth_partnership")
    assert job.description and len(job.description) > 40
    for node in job.nodes:
        assert node.definition.description and len(node.definition.description) > 40, node.name
    route = job.graph.node_named("route_partnership_landing").definition
    model = job.graph.node_named("partnership_model_registered").definition
    assert route.output_def_named("authority").is_dynamic
    assert model.output_def_named("ready").is_dynamic
    deps = job.dependency_structure
    assert deps.is_dynamic_mapped("prepare_authority")
    assert deps.is_dynamic_mapped("score_authority")
    assert job.executor_def.name == "hearth_partnership"
    field = job.executor_def.config_schema.as_field()
    assert field.default_value == {"multiprocess": {}}
