"""Retention as the contracts say (hearth/quality/retention.py, sql/quality/retention_*.sql), on a
real warehouse loaded from a synthetic world two years long with its retention shortened to a
year (HEARTH_RETENTION_MONTHS): no record older than its contract allows is left in any table,
what went is counted per source, and ingest's accounting still balances."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from hearth.ingest.run import ingest_source
from hearth.linkage.link import link
from hearth.operations.commit import delete_expired
from hearth.quality.retention import (
    DERIVED,
    apply_retention,
    derived_cutoff,
    expired_files,
    last_deletion,
    limits,
    logged_summary,
    retention_sentence,
)
from hearth.quality.retention_status import retention_status
from hearth.sources import EVENT_SOURCES, SOURCES
from hearth.warehouse import connect, run_sql

CLOCK = date(2026, 1, 15)  # the run's day
KEPT = 12  # months: the world is 24 months long, so its first year goes
CUTOFF = date(2025, 1, 1)  # first day kept: the month 12 months before January 2026
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from hearth.synth import synthesise

    root = tmp_path_factory.mktemp("retention_world")
    synthesise(
        root / "landing",
        root / "_truth",
        households=300,
        seed=5,
        months=24,
        end="2025-12",
        mess_rate=0.03,
        move_rate=0.02,
    )
    return root / "landing"


@pytest.fixture
def shortened(monkeypatch):
    monkeypatch.setenv("HEARTH_RETENTION_MONTHS", str(KEPT))
    monkeypatch.setenv("HEARTH_CLOCK", CLOCK.isoformat())


def _store_ranking(con, as_of: str) -> None:
    """A month's ranking kept for monitoring, as hearth/modelling/scoring/monitoring.py stores
    it."""
    ranked = con.sql("SELECT DISTINCT household_pid FROM raw_addresses LIMIT 20").pl()
    ranked = ranked.with_columns(
        pl.int_range(1, ranked.height + 1).alias("rank"), pl.lit(0.5).alias("score")
    )
    con.register("monitoring_frame", ranked)
    try:
        run_sql(
            con,
            "modelling/monitoring_store",
            {"as_of": as_of, "model_version": "1", "report": json.dumps({})},
        )
    finally:
        con.unregister("monitoring_frame")


def _boundary_rows(con) -> None:
    """A police record on the first day kept and one the day before, both landed in 2025-01."""
    for rid, day in (("PL900000001", CUTOFF), ("PL900000002", date(2024, 12, 31))):
        con.execute(
            "INSERT INTO raw_police (record_id, person_pid, household_pid, event_date, "
            "event_type, risk_level, _row_number, _extract_month) "  # no tokens (issue 25)
            "VALUES (?, NULL, NULL, ?, 'ASB', NULL, 9999, '2025-01')",
            [rid, day],
        )
    # as ingest would have counted them
    con.execute(
        "UPDATE ingest_log SET rows_received = rows_received + 2, "
        "rows_accepted = rows_accepted + 2 WHERE source = 'police' AND extract_month = '2025-01'"
    )


def _counts(con) -> dict[str, int]:
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}


@pytest.fixture(scope="module")
def loaded_once(world, tmp_path_factory) -> Path:
    """The world ingested, linked and given two stored rankings once for the module (under the
    settings `shortened` gives each test); each test changes its own copy (`loaded`)."""
    db = tmp_path_factory.mktemp("retention_loaded") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEARTH_RETENTION_MONTHS", str(KEPT))
        mp.setenv("HEARTH_CLOCK", CLOCK.isoformat())
        with connect(db) as con:
            for source in SOURCES:
                report = ingest_source(con, world, source, MONTHS)
                assert report.accounting_errors == []
            _boundary_rows(con)
            link(con)
            _store_ranking(con, "2024-12")
            _store_ranking(con, "2025-06")
    return db


@pytest.fixture
def loaded(loaded_once, tmp_path, shortened) -> Path:
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(loaded_once, db)
    return db


def test_a_world_longer_than_its_retention_keeps_no_older_record(loaded, world):
    with connect(loaded) as con:
        before = _counts(con)
        assert con.execute(
            "SELECT count(*) FROM quarantine WHERE extract_month < '2025-01'"
        ).fetchall()[0][0], "the world should have quarantined rows in its first year"
        result = apply_retention(con)
        after = _counts(con)

        # every event table, raw and linked: nothing dated before the cut-off
        for source in EVENT_SOURCES:
            old = con.execute(f"SELECT count(*) FROM raw_{source} WHERE event_date < '{CUTOFF}'")
            assert old.fetchall()[0][0] == 0, source
        for table in ("events", "linked_events"):
            assert (
                con.execute(
                    f"SELECT count(*) FROM {table} WHERE event_date < '{CUTOFF}'"
                ).fetchall()[0][0]
                == 0
            )
        # the boundary: the first day kept stays, the day before goes
        kept = {r[0] for r in con.execute("SELECT record_id FROM raw_police").fetchall()}
        assert "PL900000001" in kept and "PL900000002" not in kept
        # registers: no row that stopped being true before the cut-off, no departure before it
        for table, key, day in (
            ("raw_people", "person_pid", "effective_date"),
            ("raw_addresses", "household_pid", "updated_date"),
        ):
            superseded = con.execute(
                f"SELECT count(*) FROM {table} a WHERE EXISTS (SELECT 1 FROM {table} b WHERE "
                f"b.{key} = a.{key} AND b.{day} > a.{day} AND b.{day} < '{CUTOFF}')"
            ).fetchall()[0][0]
            assert superseded == 0, table
        left = con.execute(
            f"SELECT count(*) FROM raw_people WHERE status = 'LEFT_AREA' "
            f"AND effective_date < '{CUTOFF}'"
        ).fetchall()[0][0]
        assert left == 0
        assert (
            con.execute(f"SELECT count(*) FROM residence WHERE valid_to < '{CUTOFF}'").fetchall()[
                0
            ][0]
            == 0
        )
        # the register's current rows stay, however old: every household is still there
        assert after["households"] == before["households"]
        assert after["raw_addresses"] > 0 and after["raw_people"] > 0
        # quarantine and the rankings kept between months
        assert (
            con.execute(
                "SELECT count(*) FROM quarantine WHERE extract_month < '2025-01'"
            ).fetchall()[0][0]
            == 0
        )
        assert [
            r[0] for r in con.execute("SELECT DISTINCT as_of FROM score_history").fetchall()
        ] == ["2025-06"]
        assert (
            con.execute("SELECT count(*) FROM monitoring WHERE as_of < '2025-01'").fetchall()[0][0]
            == 0
        )

        # what went is counted: per table, exactly the rows that left
        for table in before:
            if table == "retention_log":
                continue
            went = sum(d["rows"] for d in result.deleted if d["table_name"] == table)
            assert before[table] - after[table] == went, table
        summary = result.summary()
        for source in SOURCES:
            s = summary["sources"][source]
            assert s["accepted_rows_deleted"] == before[f"raw_{source}"] - after[f"raw_{source}"]
            # six years for the agencies' records, four for the offers (issue 26)
            contract = 48 if source == "interventions" else 72
            assert s["retention_months"] == KEPT and s["contract_retention_months"] == contract
            assert s["kept_from"] == CUTOFF.isoformat()
        assert summary["sources"]["police"]["accepted_rows_deleted"] > 0
        held = sum(s["quarantined_rows_deleted"] for s in summary["sources"].values())
        assert held == before["quarantine"] - after["quarantine"] > 0
        assert summary["rankings_deleted"] == 20 + 1  # the ranking and its report
        assert summary["shortened_by"] == "HEARTH_RETENTION_MONTHS"
        assert "police" in result.sentence() and "test worlds only" in result.sentence()

        # the log the summary, report and `hearth dpia` read holds the same counts
        assert logged_summary(con) == summary
        logged = {(r["source"], r["table_name"]): r["rows"] for r in last_deletion(con)}
        assert (
            logged[("police", "raw_police")]
            == summary["sources"]["police"]["accepted_rows_deleted"]
        )
        assert logged[(DERIVED, "score_history")] == 20
        # the status a DPO reads: every source within its limit now
        status = retention_status(con)
        assert all(s["within_retention"] for s in status), status
        assert all(s["oldest_record"] >= CUTOFF.isoformat() for s in status if s["oldest_record"])

        # ingest's accounting still balances: deleted rows are counted, not lost
        for source in SOURCES:
            assert ingest_source(con, world, source, MONTHS).accounting_errors == [], source

        # a second pass the same day finds nothing more
        again = apply_retention(con)
        assert sum(d["rows"] for d in again.deleted) == 0
        assert "nothing held" in again.sentence()


def test_status_flags_a_source_holding_older_records(loaded):
    with connect(loaded) as con:
        status = {s["source"]: s for s in retention_status(con)}
        assert not status["police"]["within_retention"]
        assert status["police"]["oldest_record"] < CUTOFF.isoformat()


def test_the_contracts_retention_is_applied_without_the_setting(monkeypatch):
    monkeypatch.delenv("HEARTH_RETENTION_MONTHS", raising=False)
    by_source = limits(date(2026, 4, 2))
    # six years after March 2020: kept through March 2026, gone in April
    assert {s: lim.months for s, lim in by_source.items() if lim.months != 72} == {
        "interventions": 48
    }
    assert by_source["interventions"].element == "offer_date"
    # the rankings are made from the sources the model reads: the offers' shorter retention
    # does not shorten theirs
    assert derived_cutoff(by_source) == by_source["police"].cutoff
    assert by_source["police"].cutoff == date(2020, 4, 1)
    assert by_source["police"].element == "event_date"
    # the setting can only shorten
    monkeypatch.setenv("HEARTH_RETENTION_MONTHS", "100")
    assert limits(date(2026, 4, 2))["police"].months == 72
    monkeypatch.setenv("HEARTH_RETENTION_MONTHS", "soon")
    with pytest.raises(ValueError, match="HEARTH_RETENTION_MONTHS"):
        limits(date(2026, 4, 2))


def test_old_outputs_and_feature_files_go_but_never_the_latest(tmp_path):
    outputs, features = tmp_path / "outputs", tmp_path / "features"
    for month in ("2019-01", "2019-02", "2025-06"):
        (outputs / month).mkdir(parents=True)
    (features).mkdir()
    for name in (
        "features_2018-12.parquet",
        "labels_2018-12.parquet",
        "features_2025-06.parquet",
        "features_2019-02.parquet",
    ):
        (features / name).write_text("x")
    # latest points at an old folder (a re-run of an old month): it stays
    (outputs / "latest").symlink_to("2019-02", target_is_directory=True)
    cutoff = date(2020, 1, 1)
    found = expired_files(outputs, features, cutoff, keep_months={"2019-02"})
    names = sorted(p.name for p in found)
    assert names == ["2019-01", "features_2018-12.parquet", "labels_2018-12.parquet"]
    # as the run's commit deletes them; what latest points at stays whatever the list says
    delete_expired(
        {"paths": [str(p) for p in [*found, outputs / "2019-02"]], "outputs": str(outputs)}
    )
    assert sorted(p.name for p in outputs.iterdir()) == ["2019-02", "2025-06", "latest"]
    assert sorted(p.name for p in features.iterdir()) == [
        "features_2019-02.parquet",
        "features_2025-06.parquet",
    ]
    # the newest published folder is never found, however old
    only = tmp_path / "only"
    (only / "2010-01").mkdir(parents=True)
    assert expired_files(only, tmp_path / "none", cutoff) == []
    # ... unless the run is about to publish a newer one
    assert expired_files(only, tmp_path / "none", cutoff, {"2026-01"}) == [only / "2010-01"]


def test_the_sentence_names_what_went():
    summary = {
        "sources": {
            "police": {
                "accepted_rows_deleted": 1200,
                "quarantined_rows_deleted": 3,
                "kept_from": "2020-04-01",
            },
            "fire": {"accepted_rows_deleted": 0, "quarantined_rows_deleted": 0, "kept_from": "x"},
        },
        "files_deleted": ["2019-01"],
        "shortened_by": None,
    }
    text = retention_sentence(summary)
    assert "police 1,200 rows and 3 quarantined (before 2020-04-01)" in text
    assert "fire" not in text and "1 old output or feature file" in text
    assert retention_sentence(None) == "Retention was not applied in this run."
