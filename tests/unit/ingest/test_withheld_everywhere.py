"""The allowlist, end to end through ingest: every identifier form of the corpus
(tests/support/identifier_corpus.py), put in every kind of column (coded, date, number,
pseudonym, record id, ONS code) of CSV and Parquet extracts, is withheld — refused with a
sentence that does not quote it, or quarantined with its shape in its place — and afterwards
appears nowhere in the home: not in any file's bytes, any DuckDB table's text, any refusal, nor
the output of `hearth quarantine list|show`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from hearth.cli.app import app
from hearth.ingest.landing import Extract
from hearth.ingest.load import ingest_extract
from hearth.quality.contracts import load_contract
from hearth.sources import SOURCES
from hearth.warehouse import connect
from tests.support.identifier_corpus import CORPUS, PLACEMENTS, forms_of
from tests.support.quality_corpus import BASELINE, LATEST, World, csv_bytes, put_rows

MARK = "[withheld: "


def month_of(source: str) -> str:
    return BASELINE if SOURCES[source].kind == "register" else LATEST


def write(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        df.write_parquet(path)
    else:
        path.write_bytes(csv_bytes(df.with_columns(pl.all().cast(pl.String))))


def all_text(con: duckdb.DuckDBPyConnection) -> str:
    """Every value of every table in the warehouse, as text."""
    parts = []
    for schema, table in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE'"
    ).fetchall():
        parts.append(con.table(f'"{schema}"."{table}"').pl().write_csv())
    return "\n".join(parts)


def leaks(text: str, value: str) -> list[str]:
    low = text.lower()
    return [f for f in forms_of(value) if f.lower() in low]


def cli(*args: str) -> str:
    out = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    return out.output


@pytest.fixture
def world(quality_world) -> World:
    return quality_world


def test_every_identifier_form_in_every_column_is_withheld_everywhere(world, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    landing = tmp_path / "landing"  # what was received: the only place the values may be
    outcomes: Counter[str] = Counter()
    warehouse = home / "warehouse.duckdb"
    with connect(warehouse) as con:
        for p in PLACEMENTS:
            month = month_of(p.source)
            contract = load_contract(p.source)
            base = world.frame(p.source, month)
            row = base.with_row_index("_i").filter(pl.col(p.column).is_not_null())["_i"][0]
            landed = landing / p.source / month / world.path(p.source, month).name
            for _kind, value in CORPUS:
                write(put_rows(base, p.column, [row], value), landed)
                r = ingest_extract(con, contract, Extract(p.source, month, landed))
                stored = con.execute(
                    "SELECT row_number, rule, column_name, row_json FROM quarantine "
                    "WHERE source = ? AND extract_month = ?",
                    [p.source, month],
                ).fetchall()
                if r.status == "loaded":
                    held = [s for s in stored if s[0] == row + 1]
                    assert held and held[0][2] == p.column, (p, value, r.quarantined_by_rule)
                    assert MARK in held[0][3], (p, value)
                    outcomes["quarantined, withheld"] += 1
                else:
                    assert r.status == "refused", (p, value, r.status)
                    assert r.rule in ("no_raw_identifiers", "schema_matches_contract"), r.message
                    outcomes[f"refused ({r.rule})"] += 1
                text = f"{r.message or ''}\n{stored}"
                assert not leaks(text, value), (p, value, leaks(text, value))
        text = all_text(con)
        con.execute("CHECKPOINT")
    text += cli("quarantine", "list")
    files = [f for f in home.rglob("*") if f.is_file()]
    assert any(f.name == "warehouse.duckdb" for f in files)
    stored_bytes = b"\n".join(f.read_bytes() for f in files).lower()
    for _kind, value in CORPUS:
        assert not leaks(text, value), (value, leaks(text, value))
        for form in forms_of(value):
            assert form.lower().encode() not in stored_bytes, (value, form)
    placements = len(CORPUS) * len(PLACEMENTS)
    assert sum(outcomes.values()) == placements
    print(
        f"\n{len(CORPUS)} forms x {len(PLACEMENTS)} columns = {placements} placements: "
        f"{dict(outcomes)}; {len(files)} files and every table checked"
    )
