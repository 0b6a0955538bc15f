"""The quality gate on the corpus of malformed extracts (tests/support/quality_corpus.py): each
case's
exact outcome, through `ingest_extract` on a DuckDB file, and that the offending value is kept
nowhere but the quarantine table's row_json."""

from __future__ import annotations

import re

import duckdb
import pytest

from hearth.ingest.landing import Extract
from hearth.ingest.load import ingest_extract
from hearth.ingest.removals import clear_month
from hearth.quality.contracts import load_contract
from hearth.sources import SOURCES
from hearth.warehouse import connect
from tests.support.quality_corpus import (
    CASES,
    MONTHS,
    Loaded,
    Refused,
    World,
    build,
    secret_of,
    valid_rows,
)


@pytest.fixture
def world(quality_world) -> World:
    return quality_world


def warehouse_text(con: duckdb.DuckDBPyConnection) -> str:
    """Every value in every table of the warehouse, except the quarantine's row_json."""
    parts = []
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE'"
    ).fetchall()
    for schema, table in tables:
        rel = con.table(f'"{schema}"."{table}"')
        cols = [c for c in rel.columns if not (table == "quarantine" and c == "row_json")]
        if cols:
            parts.append(rel.select(*[f'"{c}"' for c in cols]).pl().write_csv())
    return "\n".join(parts)


def mentions(text: str, value: str) -> bool:
    """Whether `value` appears in `text` as a whole value (not inside a longer hex string)."""
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", text) is not None


def load_before(con, world: World, source: str, months: tuple[str, ...]) -> None:
    contract = load_contract(source)
    for m in months:
        r = ingest_extract(con, contract, Extract(source, m, world.path(source, m)))
        assert r.status == "loaded" and r.rows_quarantined == 0, r


def test_the_world_is_valid(world, tmp_path):
    """Every extract of the corpus's world loads with nothing quarantined, so each case's
    outcome is caused by its one change."""
    with connect(tmp_path / "w.duckdb") as con:
        for source in SOURCES:
            contract = load_contract(source)
            for m in MONTHS:
                r = ingest_extract(con, contract, Extract(source, m, world.path(source, m)))
                assert r.status == "loaded", r.message
                assert r.rows_quarantined == 0, (source, m, r.quarantined_by_rule)


def test_corpus_is_large_and_covers_every_rule():
    assert len(CASES) >= 20
    assert len({c.name for c in CASES}) == len(CASES)
    refused = {c.expect.rule for c in CASES if isinstance(c.expect, Refused)}
    assert refused == {
        "file_readable",
        "not_empty",
        "schema_matches_contract",
        "no_raw_identifiers",
        "extract_month_matches_folder",
        "volume_in_line",
    }
    quarantined = {r for c in CASES if isinstance(c.expect, Loaded) for r in c.expect.quarantined}
    from hearth.ingest.rules import RULE_TEXT

    assert quarantined == set(RULE_TEXT)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, world, tmp_path):
    path = build(case, world, tmp_path / "landing")
    ex = Extract(case.source, case.month, path)
    secret = secret_of(case, world)
    with connect(tmp_path / "warehouse.duckdb") as con:
        load_before(con, world, case.source, case.before)
        result = ingest_extract(con, load_contract(case.source), ex)
        log = con.execute(
            "SELECT status, rows_received, rows_accepted, rows_quarantined FROM ingest_log "
            "WHERE source = ? AND extract_month = ?",
            [case.source, case.month],
        ).fetchall()
        raw_rows = con.execute(
            f"SELECT count(*) FROM raw_{case.source} WHERE _extract_month = ?", [case.month]
        ).fetchone()[0]
        held = dict(
            con.execute(
                "SELECT rule, count(*) FROM quarantine WHERE source = ? AND extract_month = ? "
                "GROUP BY rule",
                [case.source, case.month],
            ).fetchall()
        )
        row_json = " ".join(r[0] for r in con.execute("SELECT row_json FROM quarantine").fetchall())
        refusals = con.execute(
            "SELECT rule, column_name, message FROM batch_refusals WHERE source = ? "
            "AND extract_month = ?",
            [case.source, case.month],
        ).fetchall()
        stored = warehouse_text(con)

    if isinstance(case.expect, Refused):
        assert result.status == "refused", (result.rule, result.message)
        assert (result.rule, result.column) == (case.expect.rule, case.expect.column), (
            result.message
        )
        # one plain sentence naming the source and the file (and the column, when there is one)
        msg = result.message
        assert msg.startswith(f"{case.source}: ") and ex.file_name in msg
        if case.expect.column:
            assert f"'{case.expect.column}'" in msg
        assert "\n" not in msg and "Traceback" not in msg
        assert refusals == [(case.expect.rule, case.expect.column, msg)]
        # nothing of it was loaded
        assert log == [] and raw_rows == 0 and held == {}
    else:
        assert result.status == "loaded", result.message
        received = valid_rows(case, world) + case.expect.extra_rows
        quarantined = sum(case.expect.quarantined.values())
        assert result.quarantined_by_rule == case.expect.quarantined
        assert held == case.expect.quarantined
        assert (result.rows_received, result.rows_accepted, result.rows_quarantined) == (
            received,
            received - quarantined,
            quarantined,
        )
        assert log == [("loaded", received, received - quarantined, quarantined)]
        assert raw_rows == received - quarantined
        assert refusals == []

    if secret:
        assert not mentions(result.message or "", secret)
        assert not mentions(stored, secret)
        if case.withheld:
            # it may identify someone: not even the quarantine keeps it, only its fingerprint
            assert not mentions(row_json, secret)
            assert "[withheld: " in row_json
        elif isinstance(case.expect, Loaded) and case.expect.quarantined:
            assert secret in row_json  # kept, as received, for `hearth quarantine show`


IDENTIFYING = [
    c
    for c in CASES
    if c.secret and (c.withheld or (isinstance(c.expect, Refused) and "identif" in c.expect.rule))
]


def test_no_injected_identifier_is_held_anywhere_in_the_home(world, tmp_path, monkeypatch):
    """Every identifying case of the corpus, landed one after another into one HEARTH_HOME (each
    a first landing of its month): none of their values is in any file of the home, the
    warehouse's tables (quarantine included) or its bytes."""
    home = tmp_path / "home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    assert len(IDENTIFYING) >= 15
    secrets = set()
    with connect(home / "warehouse.duckdb") as con:
        for c in IDENTIFYING:
            landing = tmp_path / c.name
            path = build(c, world, landing)
            load_before(con, world, c.source, c.before)
            # each case is a first landing of its month, not a copy replacing the case before
            # it (a smaller copy would be held as a removal, not loaded)
            clear_month(con, c.source, c.month)
            result = ingest_extract(con, load_contract(c.source), Extract(c.source, c.month, path))
            assert result.status == ("refused" if isinstance(c.expect, Refused) else "loaded")
            secrets.add(secret_of(c, world))
        held = " ".join(r[0] for r in con.execute("SELECT row_json FROM quarantine").fetchall())
        text = warehouse_text(con) + held
        con.execute("CHECKPOINT")
    assert "[withheld: " in held
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "warehouse.duckdb" for p in files)
    for secret in secrets:
        assert not mentions(text, secret), secret
        for p in files:
            assert secret.encode() not in p.read_bytes(), (secret, p.name)
