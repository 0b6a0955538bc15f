"""The shared resources are configured once: run config for `outputs` and `mlflow` reaches the
warehouse resource that commits the run (hearth/defs/resources.py:hearth_resources)."""

from __future__ import annotations

import dagster as dg

from hearth.defs.resources import OutputsResource, WarehouseResource, hearth_resources


def test_run_config_for_outputs_and_mlflow_reaches_the_warehouse(hearth_home):
    seen = {}

    @dg.asset
    def probe(warehouse: WarehouseResource, outputs: OutputsResource):
        seen["warehouse.outputs"] = warehouse.outputs.resolved()
        seen["outputs"] = outputs.resolved()
        seen["warehouse.mlflow"] = warehouse.mlflow.uri()
        seen["registry"] = warehouse.mlflow.registry().uri

    elsewhere = hearth_home / "published"
    uri = f"sqlite:///{hearth_home / 'other.db'}"
    result = dg.materialize(
        [probe],
        resources=hearth_resources(),
        run_config={
            "resources": {
                "outputs": {"config": {"path": str(elsewhere)}},
                "mlflow": {"config": {"tracking_uri": uri}},
                "warehouse": {"config": {"atomic_runs": False}},
            }
        },
    )
    assert result.success
    assert seen["warehouse.outputs"] == seen["outputs"] == elsewhere.resolve()
    assert seen["warehouse.mlflow"] == seen["registry"] == uri


def test_without_run_config_every_resource_is_under_hearth_home(hearth_home):
    seen = {}

    @dg.asset
    def probe(warehouse: WarehouseResource):
        seen["outputs"] = warehouse.outputs.resolved()
        seen["mlflow"] = warehouse.mlflow.uri()

    assert dg.materialize([probe], resources=hearth_resources()).success
    assert seen["outputs"] == (hearth_home / "outputs").resolve()
    assert seen["mlflow"] == f"sqlite:///{hearth_home.resolve() / 'mlflow.db'}"
