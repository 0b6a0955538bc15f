"""The resources every stage shares."""

import dagster as dg

from pipelines.resources import (
    LandingResource,
    MlflowResource,
    OutputsResource,
    PrivateIOManager,
    RunSettings,
    WarehouseResource,
)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "warehouse": WarehouseResource(),
            "landing": LandingResource(),
            "outputs": OutputsResource(),
            "mlflow": MlflowResource(),
            "run_settings": RunSettings(),
            "io_manager": PrivateIOManager(),
        }
    )
