"""A partnership's routed file that holds no row for an authority (hearth/linkage/partnership.py
marks it ROUTED_NONE) is "0 rows received", not an empty extract: its ingest loads it, judges no
volume against it, and the next month is judged as usual. The same header-only file from an
agency (no mark) is refused as empty, as ever."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from hearth.ingest.files import ROUTED_NONE
from hearth.ingest.run import ingest_source
from hearth.synth import synthesise
from hearth.warehouse import connect

MONTHS = ["2025-01", "2025-02", "2025-03"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("routed_none")
    synthesise(root / "landing", root / "truth", households=1500, seed=2, months=3, end="2025-03")
    return root / "landing"


def _header_only(landing: Path, tmp_path: Path, marked: bool) -> Path:
    """A copy of the landing whose health extract for 2025-02 is a header-only Parquet file."""
    import shutil

    copy = tmp_path / "landing"
    shutil.copytree(landing, copy)
    folder = copy / "health" / "2025-02"
    (old,) = folder.iterdir()
    frame = pl.read_csv(old, infer_schema=False) if old.suffix != ".parquet" else None
    frame = frame if frame is not None else pl.read_parquet(old)
    old.unlink()
    table = frame.head(0).to_arrow()
    if marked:
        table = table.replace_schema_metadata({ROUTED_NONE: b"1"})
    pq.write_table(table, folder / "health_2025-02.parquet")
    return copy


def _health(landing: Path, db: Path) -> dict:
    with connect(db) as con:
        return {r.month: r for r in ingest_source(con, landing, "health", MONTHS).results}


def test_a_routed_month_with_nothing_for_this_authority_loads_as_0_rows(world, tmp_path):
    health = _health(_header_only(world, tmp_path, marked=True), tmp_path / "w.duckdb")
    assert health["2025-01"].rows_received >= 50  # the volume check would judge 2025-02
    assert (health["2025-02"].status, health["2025-02"].rows_received) == ("loaded", 0)
    assert health["2025-03"].status == "loaded"


def test_the_same_file_from_an_agency_is_refused_as_empty(world, tmp_path):
    health = _health(_header_only(world, tmp_path, marked=False), tmp_path / "w.duckdb")
    assert (health["2025-02"].status, health["2025-02"].rule) == ("refused", "not_empty")
