"""A small job on Hearth's executor and resources, for tests of the executors themselves: two
steps that open the warehouse (pool `warehouse`, as Hearth's are) and two that open nothing.
Loaded by `dg.reconstructable(executor_job)`, so step processes and workers rebuild it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from hearth.defs.jobs import hearth_executor
from hearth.defs.resources import WarehouseResource, hearth_resources

PAUSE = 2.0  # the writers hold the file this long, so a second writer would surely collide
MEET_WITHIN = 120.0  # seconds a free step waits for the other to start (a loaded machine)


def _writer(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, pool="warehouse")
    def _write(warehouse: WarehouseResource) -> None:
        with warehouse.connect() as con:  # a second writer of the file would fail here
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT 1 AS x")
            time.sleep(PAUSE)

    return _write


def _free(name: str, other: str) -> dg.AssetsDefinition:
    # The two free steps meet: each marks its start and waits for the other's mark, so on an
    # executor that runs them at once they overlap however slowly their processes start (a
    # fixed sleep failed at load 13), and on one that runs them in turn the first one fails.
    @dg.asset(name=name)
    def _meet() -> None:
        marks = Path(os.environ["HEARTH_HOME"]) / "executor-job-marks"
        marks.mkdir(parents=True, exist_ok=True)
        (marks / name).touch()
        deadline = time.monotonic() + MEET_WITHIN
        while not (marks / other).exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} ran {MEET_WITHIN:.0f} s and {other} never started.")
            time.sleep(0.05)

    return _meet


ASSETS = [
    _writer("write_a"),
    _writer("write_b"),
    _free("free_a", "free_b"),
    _free("free_b", "free_a"),
]


def executor_job() -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=ASSETS,
        resources=hearth_resources(),
        jobs=[dg.define_asset_job("executor_job", executor_def=hearth_executor)],
    )
    return defs.resolve_job_def("executor_job")
