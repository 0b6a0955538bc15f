"""The extract partitions start at the first month landed, read when the definitions load; a
month landed earlier than that waits for a reload instead of failing the sensor's tick or being
lost from its cursor."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from hearth.definitions import defs
from hearth.defs.ingest.partitions import EMPTY_LANDING_START
from hearth.defs.operations.sensors import landing_sensor
from hearth.defs.resources import LandingResource
from hearth.defs.tags import PARTITION_RANGE_START
from hearth.months import month_of, months_between
from hearth.operations.watch import load_cursor

PAST = time.time() - 3600  # older than the sensor's settling time


def land(landing: Path, source: str, month: str) -> None:
    path = landing / source / month / f"{source}_{month}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a\n1\n")
    os.utime(path, (PAST, PAST))


def _months() -> dg.PartitionsDefinition:
    return defs().resolve_job_def("hearth_full_run").partitions_def


def test_partitions_start_at_the_first_landed_month(hearth_home):
    landing = hearth_home / "landing"
    for m in ("2023-01", "2024-06", "2025-12"):
        land(landing, "fire", m)
    land(landing, "health", "2023-02")
    months = _months()
    keys = months.get_partition_keys()
    assert keys[0] == "2023-01"
    # to the current month (end_offset=1), no more
    assert len(keys) == months_between("2023-01", month_of(datetime.now(UTC).date())) + 1
    # every asset of the job on the same months
    ingest = [a for a in defs().resolve_all_asset_specs() if a.key.path[0].endswith("_extract")]
    assert {s.partitions_def.get_first_partition_key() for s in ingest} == {"2023-01"}


def test_an_empty_landing_leaves_room_for_any_history(hearth_home):
    assert _months().get_first_partition_key() == EMPTY_LANDING_START


def test_a_month_landed_before_the_first_waits_for_a_reload(hearth_home):
    landing = hearth_home / "landing"
    land(landing, "fire", "2024-06")
    repo = defs().get_repository_def()  # loaded now: partitions from 2024-06
    land(landing, "fire", "2023-01")
    ctx = dg.build_sensor_context(
        repository_def=repo, resources={"landing": LandingResource(path=str(landing))}
    )
    result = landing_sensor(ctx)
    assert [r.partition_key for r in result.run_requests] == ["2024-06"]
    # the early file is not in the cursor: the tick after a reload sends it
    assert "fire/2023-01/fire_2023-01.csv" not in load_cursor(result.cursor)
    assert "fire/2024-06/fire_2024-06.csv" in load_cursor(result.cursor)
    reloaded = dg.build_sensor_context(
        repository_def=defs().get_repository_def(),
        cursor=result.cursor,
        resources={"landing": LandingResource(path=str(landing))},
    )
    (again,) = landing_sensor(reloaded).run_requests
    assert again.partition_key == "2023-01"
    assert PARTITION_RANGE_START not in again.tags
