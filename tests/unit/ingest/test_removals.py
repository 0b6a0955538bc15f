"""Issue 23: a landing that shrinks is never believed without a word. On the quality corpus's
small world (2,000 households, 2025-09..2025-12) loaded once into a real DuckDB file, each way a
landing can lose records by accident ends with the warehouse's accepted rows unchanged, table by
table, and the loss listed; accepting exactly that list removes exactly the listed rows.

Sequences: a source folder deleted; the clock set back, then forward; a month whose only file is
refused (a workbook, a link out of the landing, an empty file); a month folder renamed; a source
folder emptied; a month re-landed with half its rows; a part removed from a split month; a
month re-landed with a quarter of its rows (refused on volume against the copy it replaces);
the landing changed after the list was shown; a month folder or a whole source folder that is
a link out of the landing (unreadable, so kept)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from hearth.ingest.removals import NOT_LANDED, SHRINK_SHARE, SHRINKS, pending, shrinkage, verdict
from hearth.sources import SOURCES
from hearth.warehouse import connect
from tests.support.quality_corpus import LATEST, MONTHS
from tests.unit.ingest.test_landing_integrity import extract, load

NOV = MONTHS[-2]


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setenv("HEARTH_CLOCK", "2026-01-15")


@pytest.fixture(scope="module")
def loaded_once(quality_world, tmp_path_factory) -> tuple[Path, Path]:
    """The world's landing, loaded into a warehouse once for the module (the clock as `clock`
    sets it for each test); each test takes its own copy of both (`loaded`)."""
    root = tmp_path_factory.mktemp("removals_loaded")
    landing = root / "landing"
    shutil.copytree(quality_world.landing, landing)
    db = root / "w.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEARTH_CLOCK", "2026-01-15")
        reports = load(landing, db)
    assert not any(r.removals for r in reports.values())
    return landing, db


@pytest.fixture
def loaded(loaded_once, tmp_path) -> tuple[Path, Path]:
    """A private copy of the loaded landing and its warehouse, for a test to change. The
    warehouse records each file by name and hash (not by where the landing is), so the copy
    loads on as the original would; copytree keeps the files' times."""
    landing, db = tmp_path / "landing", tmp_path / "w.duckdb"
    shutil.copytree(loaded_once[0], landing, symlinks=True)
    shutil.copyfile(loaded_once[1], db)
    return landing, db


def accepted(db: Path) -> dict[str, list[tuple]]:
    """The warehouse's accepted records, table by table (with their quarantine and load log,
    less timestamps)."""
    tables = {
        **{f"raw_{s}": "*" for s in SOURCES},
        "quarantine": "* EXCLUDE (quarantined_at)",
        "ingest_log": "* EXCLUDE (ingested_at)",
    }
    with connect(db, read_only=True) as con:
        return {
            t: sorted(con.table(t).select(cols).fetchall(), key=repr) for t, cols in tables.items()
        }


def count(db: Path, source: str, month: str | None = None) -> int:
    with connect(db, read_only=True) as con:
        return con.execute(
            f"SELECT count(*) FROM raw_{source} WHERE $month IS NULL OR _extract_month = $month",
            {"month": month},
        ).fetchall()[0][0]


def withheld(reports: dict) -> list:
    return [r for rep in reports.values() for r in rep.withheld]


def without(before: dict, source: str, months: set[str]) -> dict:
    """`before` less the rows of `source` in `months`: what accepting their removal leaves."""
    out = dict(before)
    out[f"raw_{source}"] = [r for r in before[f"raw_{source}"] if r[-1] not in months]
    for t in ("quarantine", "ingest_log"):
        out[t] = [r for r in before[t] if not (r[0] == source and r[1] in months)]
    return out


def test_a_source_folder_deleted_is_kept_and_listed_then_removed_when_accepted(loaded, tmp_path):
    landing, db = loaded
    before = accepted(db)
    fire_rows = count(db, "fire")
    shutil.rmtree(landing / "fire")  # a share that failed to mount
    reports = load(landing, db)
    fire = reports["fire"]
    assert accepted(db) == before
    assert [(r.kind, r.month) for r in fire.withheld] == [(NOT_LANDED, m) for m in MONTHS]
    assert sum(r.rows_accepted for r in fire.withheld) == fire_rows
    assert not any(rep.withheld for s, rep in reports.items() if s != "fire")
    # the run stops, unless missing sources are allowed: then it goes on with fire's history
    severity, text = verdict("fire", fire.withheld, fire.unmatched, allow_missing=False)
    assert severity == "ERROR"
    assert f"fire: 4 months, {MONTHS[0]}..{LATEST} no longer landed; {fire_rows:,} rows" in text
    severity, text = verdict("fire", fire.withheld, fire.unmatched, allow_missing=True)
    assert severity == "WARN" and "They are kept" in text
    assert fire.freshness.status == "current"  # what the warehouse holds is not missing
    with connect(db, read_only=True) as con:
        assert [p["key"] for p in pending(con)] == [r.key for r in fire.withheld]
    # a second run of the same landing lists the same removals, with the same keys
    again = load(landing, db)
    assert [r.key for r in again["fire"].withheld] == [r.key for r in fire.withheld]
    keys = frozenset(r.key for r in fire.withheld)
    done = load(landing, db, accept=keys)
    assert [r.key for r in done["fire"].removed] == sorted(keys)
    assert done["fire"].withheld == [] and done["fire"].unmatched == []
    assert accepted(db) == without(before, "fire", set(MONTHS))
    with connect(db, read_only=True) as con:
        assert pending(con) == []
    fresh = tmp_path / "fresh.duckdb"
    load(landing, fresh)
    assert accepted(db) == accepted(fresh)


def test_a_clock_set_back_then_forward_keeps_every_month(loaded, monkeypatch):
    landing, db = loaded
    before = accepted(db)
    monkeypatch.setenv("HEARTH_CLOCK", "2025-09-15")  # a restored server, a mistyped clock
    reports = load(landing, db)
    assert accepted(db) == before
    assert withheld(reports) == []  # unreadable months are not removals
    assert {u.month for u in reports["police"].blocking_unread} == set(MONTHS[1:])
    monkeypatch.setenv("HEARTH_CLOCK", "2026-01-15")
    reports = load(landing, db)
    assert accepted(db) == before and withheld(reports) == []
    assert {r.status for rep in reports.values() for r in rep.results} == {"unchanged"}


def _workbook(landing: Path) -> None:
    path = extract(landing, "fire", NOV)
    path.with_suffix(".xlsx").write_bytes(b"PK\x03\x04 a workbook")
    path.unlink()


def _link_out(landing: Path) -> None:
    path = extract(landing, "social_care", NOV)
    outside = landing.parent / "elsewhere.csv"
    shutil.move(path, outside)
    os.symlink(outside, path)


def _empty(landing: Path) -> None:
    extract(landing, "health", NOV).write_bytes(b"")


def _month_folder_linked_out(landing: Path) -> None:
    folder = landing / "police" / NOV
    outside = landing.parent / "police_nov"
    shutil.move(folder, outside)
    os.symlink(outside, folder, target_is_directory=True)


def _source_folder_linked_out(landing: Path) -> None:
    folder = landing / "fire"
    outside = landing.parent / "fire_share"
    shutil.move(folder, outside)
    os.symlink(outside, folder, target_is_directory=True)


@pytest.mark.parametrize(
    ("change", "source"),
    [
        (_workbook, "fire"),
        (_link_out, "social_care"),
        (_empty, "health"),
        (_month_folder_linked_out, "police"),
        (_source_folder_linked_out, "fire"),
    ],
    ids=["workbook", "link_out_of_landing", "empty_file", "month_linked_out", "source_linked_out"],
)
def test_a_month_whose_only_file_is_refused_is_kept(loaded, change, source):
    landing, db = loaded
    before = accepted(db)
    change(landing)
    reports = load(landing, db)
    assert accepted(db) == before
    assert withheld(reports) == []
    rep = reports[source]
    refused = [r for r in rep.results if r.status == "refused"]
    assert rep.blocking_unread or refused  # the run stops on the file, not on a removal


def _rename_month(landing: Path) -> str:
    (landing / "police" / NOV).rename(landing / "police" / "November")
    return "police"


def _empty_source(landing: Path) -> str:
    for month in (landing / "fire").iterdir():
        shutil.rmtree(month)
    (landing / "fire" / ".DS_Store").write_bytes(b"\0")
    return "fire"


@pytest.mark.parametrize("change", [_rename_month, _empty_source], ids=["renamed", "emptied"])
def test_a_month_folder_renamed_or_a_source_emptied_is_listed_not_removed(loaded, change):
    landing, db = loaded
    before = accepted(db)
    source = change(landing)
    reports = load(landing, db)
    assert accepted(db) == before
    listed = withheld(reports)
    assert listed and {r.source for r in listed} == {source}
    assert {r.kind for r in listed} == {NOT_LANDED}


def _rewrite_head(path: Path, n: int) -> None:
    """Land `path` again with only its first `n` rows (CSV or Parquet, as it is)."""
    if path.suffix == ".parquet":
        pl.read_parquet(path).head(n).write_parquet(path)
    else:
        pl.read_csv(path, infer_schema=False).head(n).write_csv(path)


def _busiest_event_source(db: Path) -> str:
    return max(("social_care", "health", "fire", "police"), key=lambda s: count(db, s, NOV))


def test_a_month_relanded_with_half_its_rows_is_held_until_accepted(loaded, tmp_path):
    landing, db = loaded
    source = _busiest_event_source(db)
    before, held_rows = accepted(db), count(db, source, NOV)
    _rewrite_head(extract(landing, source, NOV), held_rows // 2)
    reports = load(landing, db)
    assert accepted(db) == before  # nothing said: nothing went
    [shrink] = withheld(reports)
    assert (shrink.kind, shrink.source, shrink.month) == (SHRINKS, source, NOV)
    assert {r.month: r.status for r in reports[source].results}[NOV] == "held"
    severity, _ = verdict(source, [shrink], [], allow_missing=True)
    assert severity == "ERROR"  # a shrinking month is never a missing source
    load(landing, db, accept=frozenset({shrink.key}))
    assert count(db, source, NOV) == held_rows - shrink.rows_accepted
    assert count(db, source) == len(before[f"raw_{source}"]) - shrink.rows_accepted
    fresh = tmp_path / "fresh.duckdb"
    load(landing, fresh)
    assert accepted(db) == accepted(fresh)


def test_a_part_removed_from_a_split_month_is_a_shrink(loaded):
    landing, db = loaded
    path = extract(landing, "police", LATEST)
    whole = pl.read_csv(path, infer_schema=False)
    half = whole.height // 2
    path.unlink()
    whole.head(half).write_csv(path.with_name("police_2025-12_part1.csv"))
    whole.tail(whole.height - half).write_csv(path.with_name("police_2025-12_part2.csv"))
    load(landing, db)  # the same rows, split: the month is replaced, nothing lost
    before = accepted(db)
    path.with_name("police_2025-12_part2.csv").unlink()
    reports = load(landing, db)
    assert accepted(db) == before
    assert [(r.kind, r.month) for r in withheld(reports)] == [(SHRINKS, LATEST)]


def test_volume_is_judged_against_the_copy_being_replaced(loaded):
    landing, db = loaded
    source = _busiest_event_source(db)
    before = accepted(db)
    held_rows = count(db, source, NOV)
    assert held_rows >= 50
    _rewrite_head(extract(landing, source, NOV), held_rows // 4)
    reports = load(landing, db)
    result = {r.month: r for r in reports[source].results}[NOV]
    assert (result.status, result.rule) == ("refused", "volume_in_line")
    assert f"in the copy of {NOV} it would replace" in result.message
    assert accepted(db) == before


def test_a_key_that_no_longer_fits_stops_the_run(loaded, quality_world):
    landing, db = loaded
    shutil.rmtree(landing / "fire" / NOV)
    shutil.rmtree(landing / "fire" / LATEST)
    shown = withheld(load(landing, db))
    keys = frozenset(r.key for r in shown)
    # November lands again after the list was shown, and police's December goes
    shutil.copytree(quality_world.landing / "fire" / NOV, landing / "fire" / NOV)
    shutil.rmtree(landing / "police" / LATEST)
    reports = load(landing, db, accept=keys)
    fire, police = reports["fire"], reports["police"]
    nov_key = next(k for k in keys if f":{NOV}:" in k)
    assert fire.unmatched == [nov_key]
    severity, text = verdict("fire", fire.withheld, fire.unmatched, allow_missing=True)
    assert severity == "ERROR" and "the landing changed since the list" in text
    # a removal no one was shown is never applied
    assert [r.month for r in police.withheld] == [LATEST] and police.removed == []
    assert count(db, "police", LATEST) > 0


@pytest.mark.parametrize(
    ("new_accepted", "removal"),
    [
        (1000, False),  # as many rows
        (1200, False),  # more rows: nothing leaves
        (950, False),  # exactly the share fewer: an agency's correction, no word needed
        (949, True),  # one more row lost: an officer must accept it
        (0, True),
    ],
)
def test_a_relanded_month_may_lose_at_most_the_share_without_a_word(new_accepted, removal):
    assert SHRINK_SHARE == 0.05  # the boundary below is worked out for 5% of 1,000 rows
    got = shrinkage("police", "2025-11", ("old", 1000, 0), "new", new_accepted)
    assert (got is not None) == removal
    if removal:
        assert (got.kind, got.rows_accepted, got.new_accepted) == (
            SHRINKS,
            1000 - new_accepted,
            new_accepted,
        )
    # the same copy landed again is never a removal, whatever its count says
    assert shrinkage("police", "2025-11", ("same", 1000, 0), "same", new_accepted) is None
    assert shrinkage("police", "2025-11", None, "new", new_accepted) is None
