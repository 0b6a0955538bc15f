"""A small job on Hearth's executor and resources, for tests of the executors themselves: two
steps that open the warehouse (pool `warehouse`, as Hearth's are) and two that open nothing.
Loaded by `dg.reconstructable(executor_job)`, so step processes and workers rebuild it."""

from __future__ import annotations

import time

import dagster as dg

from hearth.defs.jobs import hearth_executor
from hearth.defs.resources import WarehouseResource, hearth_resources

PAUSE = 2.0  # long enough that two steps started together surely overlap


def _writer(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, pool="warehouse")
    def _write(warehouse: WarehouseResource) -> None:
        with warehouse.connect() as con:  # a second writer of the file would fail here
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT 1 AS x")
            time.sleep(PAUSE)

    return _write


def _free(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name)
    def _rest() -> None:
        time.sleep(PAUSE)

    return _rest


ASSETS = [_writer("write_a"), _writer("write_b"), _free("free_a"), _free("free_b")]


def executor_job() -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=ASSETS,
        resources=hearth_resources(),
        jobs=[dg.define_asset_job("executor_job", executor_def=hearth_executor)],
    )
    return defs.resolve_job_def("executor_job")
