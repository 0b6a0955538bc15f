"""The resources every stage shares (pipelines/resources.py:hearth_resources)."""

import dagster as dg

from pipelines.resources import hearth_resources


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=hearth_resources())
