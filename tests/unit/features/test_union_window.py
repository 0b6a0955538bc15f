"""Training reads a partnership's authorities as one (issue 28): `union_of` opens each
authority's warehouse read only, every table a view of all that hold it, and `load_window` —
the seam where training reads its frame — reads every attached warehouse's feature sets."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from hearth.features.build import load_window
from hearth.warehouse import union_of


def _authority(root: Path, name: str, pids: list[str], crises: list[int], extra: bool) -> Path:
    home = root / name
    (home / "features").mkdir(parents=True)
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("CREATE TABLE ingest_log AS SELECT ? AS source, 1 AS n", [name])
    if extra:
        con.execute("CREATE TABLE only_here AS SELECT 1 AS x")
    con.close()
    feats = {"household_pid": pids, "as_of": ["2025-01"] * len(pids), "f": [1.0] * len(pids)}
    if extra:  # a feature only this authority's history could build
        feats["g"] = [2.0] * len(pids)
    pl.DataFrame(feats).write_parquet(home / "features" / "features_2025-01.parquet")
    pl.DataFrame(
        {"household_pid": pids, "as_of": ["2025-01"] * len(pids), "crisis_12m": crises},
        schema_overrides={"crisis_12m": pl.Int8},
    ).write_parquet(home / "features" / "labels_2025-01.parquet")
    return home / "warehouse.duckdb"


def test_training_reads_every_authoritys_households_and_tables(tmp_path):
    a = _authority(tmp_path, "a", ["h3", "h1"], [1, 0], extra=True)
    b = _authority(tmp_path, "b", ["h2"], [1], extra=False)
    with union_of([a, b]) as con:
        feats, labels = load_window(con, "2025-01")
        sources = sorted(r[0] for r in con.sql("SELECT source FROM ingest_log").fetchall())
        only = con.sql("SELECT count(*) FROM only_here").fetchall()[0][0]
    assert feats["household_pid"].to_list() == ["h1", "h2", "h3"]
    assert feats.filter(pl.col("household_pid") == "h2")["g"].to_list() == [None]
    assert sorted(labels["household_pid"].to_list()) == ["h1", "h2", "h3"]
    assert sources == ["a", "b"] and only == 1
    # each authority's file was opened read only: both open for writing again at once
    for path in (a, b):
        duckdb.connect(str(path)).close()


def test_a_single_warehouse_reads_as_before(tmp_path):
    a = _authority(tmp_path, "a", ["h2", "h1"], [0, 1], extra=False)
    con = duckdb.connect(str(a), read_only=True)
    try:
        feats, labels = load_window(con, "2025-01")
    finally:
        con.close()
    assert feats.columns == ["household_pid", "f"]
    assert feats["household_pid"].to_list() == ["h1", "h2"] and labels.height == 2


def test_a_union_of_a_missing_warehouse_is_refused(tmp_path):
    a = _authority(tmp_path, "a", ["h1"], [0], extra=False)
    with pytest.raises(FileNotFoundError, match="not there"), union_of([a, tmp_path / "x.duckdb"]):
        pass
