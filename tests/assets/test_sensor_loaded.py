"""The landing sensor's first tick does not send to a run the extracts `hearth run` already
loaded with the same bytes (a file is never processed twice); a changed file, or one the
warehouse refused, still goes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from hearth.defs.operations.sensors import landing_sensor
from hearth.defs.resources import LandingResource
from hearth.ingest.files import sha256_of
from hearth.operations.watch import load_cursor, loaded_extracts
from hearth.warehouse import connect

PAST = time.time() - 3600


def land(landing: Path, source: str, month: str, text: str = "a\n1\n") -> Path:
    path = landing / source / month / f"{source}_{month}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (PAST, PAST))
    return path


def record(warehouse: Path, rows: list[tuple[str, str, str, str]]) -> None:
    with connect(warehouse) as con:
        for source, month, sha, status in rows:
            con.execute(
                "INSERT INTO ingest_log VALUES (?, ?, 'f.csv', ?, 1, 1, 0, ?, NULL, now())",
                [source, month, sha, status],
            )


def _tick(landing: Path) -> dg.SensorResult:
    ctx = dg.build_sensor_context(resources={"landing": LandingResource(path=str(landing))})
    return landing_sensor(ctx)


def test_the_first_tick_skips_what_hearth_run_loaded(hearth_home):
    landing = hearth_home / "landing"
    same = land(landing, "fire", "2025-11")
    land(landing, "fire", "2025-12")  # loaded, but since changed
    refused = land(landing, "health", "2025-12")
    record(
        hearth_home / "warehouse.duckdb",
        [
            ("fire", "2025-11", sha256_of(same), "loaded"),
            ("fire", "2025-12", "0" * 64, "loaded"),
            ("health", "2025-12", sha256_of(refused), "refused"),
        ],
    )
    result = _tick(landing)
    assert [r.partition_key for r in result.run_requests] == ["2025-12"]
    (req,) = result.run_requests
    assert {k.to_user_string() for k in req.asset_selection} == {"fire_extract", "health_extract"}
    # the skipped file is in the cursor: later ticks do not look at it again
    assert "fire/2025-11/fire_2025-11.csv" in load_cursor(result.cursor)


def test_no_warehouse_means_nothing_is_skipped(hearth_home):
    land(hearth_home / "landing", "fire", "2025-11")
    assert loaded_extracts(hearth_home / "warehouse.duckdb") == {}
    (req,) = _tick(hearth_home / "landing").run_requests
    assert req.partition_key == "2025-11"
