"""The landing is the truth (issue 13, points 1, 3, 4 and 5), on the quality corpus's small
valid world (2,000 households, 2025-09..2025-12) and a real DuckDB file:

- every entry under the landing is read or named with why; split extracts are read whole;
- a month folder after the run's clock is refused, and the newest month comes from what is
  landed and accepted now;
- re-landing any set of months gives the same warehouse as a fresh home given the same landing;
- one odd value spoils one row, and a person in two households on one date is quarantined."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import polars as pl
import pytest

from hearth.ingest.landing import inventory
from hearth.ingest.run import ingest_source
from hearth.publish.summary import sources_accounted
from hearth.sources import SOURCES, landing_file_name
from hearth.warehouse import connect, query_one
from tests.support.quality_corpus import LATEST, MONTHS

NOV = MONTHS[-2]
CLOCK = "2026-01-15"  # the run's clock in these tests: 2026-02 is a month that has not begun


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setenv("HEARTH_CLOCK", CLOCK)


@pytest.fixture
def landing(quality_world, tmp_path) -> Path:
    dst = tmp_path / "landing"
    shutil.copytree(quality_world.landing, dst)
    return dst


def extract(landing: Path, source: str, month: str) -> Path:
    return landing / source / month / landing_file_name(source, month)


def load(
    landing: Path, db: Path, months: list[str] | None = None, accept: frozenset[str] = frozenset()
) -> dict:
    """Ingest every source as a run does (with the removals `accept`ed); the reports by
    source."""
    inv = inventory(landing)
    months = months or sorted({e.month for e in inv.extracts})
    with connect(db) as con:
        return {
            s: ingest_source(con, landing, s, months, inv=inv, accepted_removals=accept)
            for s in SOURCES
        }


def contents(db: Path) -> dict[str, list[tuple]]:
    """Every warehouse table a load writes, less its timestamps, in a stable order."""
    tables = {
        **{f"raw_{s}": "*" for s in SOURCES},
        "quarantine": "* EXCLUDE (quarantined_at)",
        "ingest_log": "* EXCLUDE (ingested_at)",
        "batch_refusals": "* EXCLUDE (refused_at)",
    }
    with connect(db, read_only=True) as con:
        return {
            t: sorted(con.table(t).select(cols).fetchall(), key=repr) for t, cols in tables.items()
        }


def test_inventory_names_every_entry_it_does_not_read(landing):
    police = landing / "police"
    part = police / LATEST / landing_file_name("police", LATEST)
    (police / LATEST / "police_2025-12.xlsx").write_bytes(b"PK\x03\x04 not really")
    (police / LATEST / ".DS_Store").write_bytes(b"\0")
    (police / "2025-8").mkdir()
    (police / "latest").mkdir()
    (police / "notes.csv").write_text("a,b\n")
    (landing / "Police").mkdir()
    (police / "2026-02").mkdir()
    shutil.copy(part, police / "2026-02" / "police_2026-02.csv")
    for p in (landing / "fire" / NOV).iterdir():
        p.unlink()  # an empty month folder mid-history

    inv = inventory(landing)
    named = {u.path: u for u in inv.unread}
    assert named["police/2025-12/police_2025-12.xlsx"].blocking
    assert "Excel workbook" in named["police/2025-12/police_2025-12.xlsx"].why
    assert not named["police/2025-12/.DS_Store"].blocking
    assert named["police/2025-8"].blocking and "not an extract month" in named["police/2025-8"].why
    assert named["police/latest"].blocking
    assert named["police/notes.csv"].blocking
    assert named["Police"].blocking and named["Police"].source is None
    future = named["police/2026-02"]
    assert future.blocking and "after this run's month (2026-01)" in future.why
    assert len(named) == 7
    # the month with a workbook still reads its CSV; the future month is not an extract
    months = {(e.source, e.month) for e in inv.extracts}
    assert ("police", LATEST) in months and ("police", "2026-02") not in months
    assert inv.gaps("fire") == [NOV] and inv.gaps("police") == []


def test_a_split_extract_is_read_whole_and_a_gzipped_one_is_read(landing, tmp_path):
    path = extract(landing, "police", LATEST)
    whole = pl.read_csv(path, infer_schema=False)
    path.unlink()
    half = whole.height // 2
    whole.head(half).write_csv(path.with_name("police_2025-12_part1.csv"))
    # the second part carries one bad code: its quarantine row names the part and its row
    tail = whole.tail(whole.height - half).with_row_index()
    tail = tail.with_columns(
        pl.when(pl.col("index") == 2)
        .then(pl.lit("NOT_A_CODE"))
        .otherwise(pl.col("event_type"))
        .alias("event_type")
    ).drop("index")
    # the second part's columns in another order: the same columns
    tail.select(tail.columns[::-1]).write_csv(path.with_name("police_2025-12_part2.csv"))
    fire = extract(landing, "fire", LATEST)
    fire_rows = pl.read_csv(fire, infer_schema=False).height
    with gzip.open(fire.with_suffix(".csv.gz"), "wb") as f:
        f.write(fire.read_bytes())
    fire.unlink()

    db = tmp_path / "w.duckdb"
    reports = load(landing, db)
    police = {r.month: r for r in reports["police"].results}[LATEST]
    assert police.status == "loaded"
    assert police.rows_received == whole.height
    assert police.rows_accepted == whole.height - 1
    assert police.file_name == (
        "police/2025-12/police_2025-12_part1.csv + police_2025-12_part2.csv"
    )
    fire_result = {r.month: r for r in reports["fire"].results}[LATEST]
    assert fire_result.status == "loaded" and fire_result.rows_received == fire_rows
    with connect(db, read_only=True) as con:
        held = con.execute(
            "SELECT file_name, row_number, rule FROM quarantine WHERE source = 'police' "
            "AND extract_month = '2025-12'"
        ).fetchall()
        assert held == [("police/2025-12/police_2025-12_part2.csv", 3, "unknown_code")]
        dq = sources_accounted(con)
    assert all(dq["sources"][s]["balanced"] for s in SOURCES)


def test_an_unreadable_file_makes_the_source_unbalanced_and_stops_it(landing, tmp_path):
    (landing / "police" / LATEST / "police_2025-12_part2.xlsx").write_bytes(b"PK")
    (landing / "fire" / "2025-8").mkdir()
    (landing / "fire" / "2025-8" / "fire_2025-08.csv").write_text("x\n")
    db = tmp_path / "w.duckdb"
    reports = load(landing, db)
    assert [u.path for u in reports["police"].blocking_unread] == [
        "police/2025-12/police_2025-12_part2.xlsx"
    ]
    assert [u.path for u in reports["fire"].blocking_unread] == ["fire/2025-8"]
    assert reports["health"].blocking_unread == []
    with connect(db, read_only=True) as con:
        dq = sources_accounted(con)
    assert dq["sources"]["police"]["balanced"] is False
    assert dq["sources"]["police"]["files_not_read"] == 1
    assert dq["sources"]["fire"]["balanced"] is False
    assert dq["sources"]["health"]["balanced"] is True
    assert {u["path"] for u in dq["not_read"]} == {
        "police/2025-12/police_2025-12_part2.xlsx",
        "fire/2025-8",
    }


def test_a_future_month_never_takes_over(landing, tmp_path):
    db = tmp_path / "w.duckdb"
    load(landing, db)
    future = landing / "police" / "2026-02"
    future.mkdir()
    shutil.copy(extract(landing, "police", LATEST), future / "police_2026-02.csv")
    register = landing / "people" / "2026-02"
    register.mkdir()
    shutil.copy(extract(landing, "people", LATEST), register / "people_2026-02.parquet")
    reports = load(landing, db, months=[*MONTHS, "2026-02"])
    assert [u.path for u in reports["police"].blocking_unread] == ["police/2026-02"]
    assert [u.path for u in reports["people"].blocking_unread] == ["people/2026-02"]
    with connect(db, read_only=True) as con:
        assert query_one(con, "features/newest_month")[0] == LATEST
        assert (
            con.execute(
                "SELECT count(*) FROM ingest_log WHERE extract_month > ?", [LATEST]
            ).fetchall()[0][0]
            == 0
        )


def test_a_month_no_longer_landed_leaves_the_warehouse_once_accepted(landing, tmp_path):
    db = tmp_path / "w.duckdb"
    load(landing, db)
    before = contents(db)
    shutil.rmtree(landing / "police" / LATEST)
    shutil.rmtree(landing / "people" / LATEST)
    reports = load(landing, db, months=MONTHS[:-1])
    # not without an officer's word: kept, and listed
    assert reports["police"].dropped == [] and contents(db) == before
    keys = frozenset(r.key for s in ("police", "people") for r in reports[s].withheld)
    assert len(keys) == 2
    reports = load(landing, db, months=MONTHS[:-1], accept=keys)
    assert reports["police"].dropped == [LATEST] and reports["people"].dropped == [LATEST]
    with connect(db, read_only=True) as con:
        assert (
            con.execute(
                "SELECT count(*) FROM raw_police WHERE _extract_month = ?", [LATEST]
            ).fetchall()[0][0]
            == 0
        )
        # health and the others still have December: the newest month is still December
        assert query_one(con, "features/newest_month")[0] == LATEST
    fresh = tmp_path / "fresh.duckdb"
    load(landing, fresh)
    assert contents(db) == contents(fresh)


def _move_records(landing: Path, n: int, copy: bool) -> None:
    """Correct police's history: n December records re-dated into a re-landed November (and,
    unless `copy`, taken out of December)."""
    nov, dec = extract(landing, "police", NOV), extract(landing, "police", LATEST)
    nov_df, dec_df = pl.read_csv(nov, infer_schema=False), pl.read_csv(dec, infer_schema=False)
    moved = dec_df.head(n).with_columns(pl.lit("2025-11-20").alias("event_date"))
    pl.concat([nov_df, moved]).write_csv(nov)
    if not copy:
        dec_df.tail(dec_df.height - n).write_csv(dec)


@pytest.mark.parametrize("copy", [False, True], ids=["moved", "copied"])
def test_relanding_a_correction_gives_the_fresh_homes_warehouse(landing, tmp_path, copy):
    db = tmp_path / "w.duckdb"
    load(landing, db)
    _move_records(landing, 5, copy)
    # a run for the corrected month alone (as the landing sensor starts) judges December again
    reports = load(landing, db, months=[NOV] if copy else [NOV, LATEST])
    shrinks = [r.key for r in reports["police"].withheld]
    if shrinks:  # December lost more than the share an agency may drop unasked: accept it
        reports = load(landing, db, months=[LATEST], accept=frozenset(shrinks))
    if copy:
        assert reports["police"].rejudged == [LATEST]
    fresh = tmp_path / "fresh.duckdb"
    load(landing, fresh)
    assert contents(db) == contents(fresh)
    with connect(db, read_only=True) as con:
        held = con.execute(
            "SELECT count(*) FROM quarantine WHERE source = 'police' "
            "AND rule = 'duplicate_record_id'"
        ).fetchall()[0][0]
    assert held == (5 if copy else 0)


def test_relanding_the_whole_history_gives_the_fresh_homes_warehouse(landing, tmp_path):
    db = tmp_path / "w.duckdb"
    load(landing, db)
    # every file sent again with other bytes (rows in another order): every month is replaced
    for source in SOURCES:
        for month in MONTHS:
            p = extract(landing, source, month)
            if not p.exists():
                continue
            if p.suffix == ".parquet":
                pl.read_parquet(p).reverse().write_parquet(p)
            else:
                pl.read_csv(p, infer_schema=False).reverse().write_csv(p)
    load(landing, db)
    fresh = tmp_path / "fresh.duckdb"
    load(landing, fresh)
    assert contents(db) == contents(fresh)
    with connect(db, read_only=True) as con:
        dupes = con.execute(
            "SELECT count(*) FROM quarantine WHERE rule = 'duplicate_record_id'"
        ).fetchall()[0][0]
    assert dupes == 0  # the valid world sends each record once


def test_one_odd_value_spoils_one_row(landing, tmp_path):
    path = extract(landing, "people", LATEST)
    df = pl.read_parquet(path)
    assert df.height >= 3
    years = df["birth_year"].cast(pl.Float64).to_list()
    years[0], years[1] = 1980.5, float("nan")
    df.with_columns(pl.Series("birth_year", years, dtype=pl.Float64)).write_parquet(path)
    reports = load(landing, tmp_path / "w.duckdb")
    result = {r.month: r for r in reports["people"].results}[LATEST]
    assert result.status == "loaded"
    assert result.quarantined_by_rule == {"not_a_number": 1, "missing_value": 1}
    assert result.rows_accepted == df.height - 2


def test_a_person_in_two_households_on_one_date_is_held(landing, tmp_path):
    path = extract(landing, "people", LATEST)
    df = pl.read_parquet(path)
    other = df["household_pid"].drop_nulls()[-1]
    twin = df.head(1).with_columns(pl.lit(other).alias("household_pid"))
    assert twin["household_pid"][0] != df["household_pid"][0]
    pl.concat([df, twin]).write_parquet(path)
    reports = load(landing, tmp_path / "w.duckdb")
    result = {r.month: r for r in reports["people"].results}[LATEST]
    assert result.quarantined_by_rule == {"duplicate_key": 1}
    assert result.rows_accepted == df.height
