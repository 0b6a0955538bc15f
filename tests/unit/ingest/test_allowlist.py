"""The allowlist's parts: each column's declared shape, how a withheld value is described, the
quarantine CLI over many withheld rows, whole-column faults (a Parquet type change, a changed
date format) as batch refusals naming both types, landed names made printable, and a client
list's columns named only when they are headers."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from typer.testing import CliRunner

from hearth.cli.app import app
from hearth.ingest.identifiers import guard_columns, scan_identifiers
from hearth.ingest.landing import Extract, inventory
from hearth.ingest.load import ingest_extract
from hearth.ingest.rules import MAJORITY_MIN_ROWS
from hearth.ingest.shapes import describe, header_is_shown, headers_described, shapes
from hearth.quality.contracts import load_all, load_contract
from hearth.warehouse import connect
from tests.support.identifier_corpus import CORPUS, PLACEMENTS, forms_of
from tests.support.quality_corpus import BASELINE, LATEST, csv_bytes, put_rows

# --- shapes -------------------------------------------------------------------------------------

PID = "0123456789abcdef" * 4

KEPT = {
    ("people", "birth_year"): ["1980", "0999", "2030", "7"],
    ("addresses", "imd_decile"): ["1", "10", "11", "0"],
    ("people", "sex"): ["F", "M", "U"],
    ("health", "person_pid"): [PID],
    ("health", "record_id"): ["HL000001", "HL-000002", "HL123456789"],
    ("health", "event_date"): ["2025-12-01", "2025-02-30", "1899-12-31"],
    ("addresses", "lsoa_code"): ["E01000001"],
    ("police", "risk_level"): ["STANDARD", "HIGH"],
}
WITHHELD = {
    ("people", "birth_year"): ["19800", "1980.5", " 1980", "19 8", "-198", "9434765919", "1e3"],
    ("addresses", "imd_decile"): ["100", "1.5", "seventh", "1 0", "1 ", "+1", "0x"],
    ("people", "sex"): ["f", "FEMALE", "MF", "SMITH"],
    ("health", "person_pid"): [PID.upper(), PID[:-1], PID + "0", "9434765919"],
    ("health", "record_id"): ["HL00000", "HL0000000001", "hl000001", "XHL000001", "HL 000001"],
    ("health", "event_date"): ["2025/12/01", "01/12/2025", "2025-12-1", "2025-12-01T00:00"],
    ("addresses", "lsoa_code"): ["E0100000", "e01000001", "E010000011"],
    ("police", "risk_level"): ["MEDIUM_HIGH", "HIGHEST", "H", "high"],
}


def test_every_source_column_has_a_shape_that_keeps_its_own_values_and_no_others():
    for source, contract in load_all().items():
        for name, shape in shapes(contract).items():
            assert shape.keeps_anything, (source, name)
    for (source, column), values in KEPT.items():
        shape = shapes(load_contract(source))[column]
        assert shape.keeps(pl.Series(values)).all(), (source, column, values)
        assert all(shape.keeps_value(v) for v in values)
    for (source, column), values in WITHHELD.items():
        shape = shapes(load_contract(source))[column]
        kept = [v for v, k in zip(values, shape.keeps(pl.Series(values)), strict=True) if k]
        assert kept == [], (source, column, kept)
        assert not any(shape.keeps_value(v) for v in values)


def test_no_corpus_form_has_the_shape_of_any_column():
    """The corpus is withheld by the allowlist itself, wherever the guard does not look."""
    for source, contract in load_all().items():
        for name, shape in shapes(contract).items():
            values = pl.Series([v for _, v in CORPUS]).str.strip_chars()
            kept = values.filter(shape.keeps(values)).to_list()
            assert kept == [], (source, name, kept)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("DOB 14 May 1980", "15 characters: capital letters, small letters, digits, spaces"),
        ("O'BRIEN, MARY", "13 characters: capital letters, spaces, commas, apostrophes"),
        ("+44 (0)20 7946 0958", "19 characters: digits, spaces, plus signs, brackets"),
        ("jane.doe@example.org", "20 characters: small letters, dots, at signs"),
        ("Zoë", "3 characters: capital letters, small letters, other letters"),
        ("7", "1 character: digits"),
        ("a\x1bb", "3 characters: small letters, control characters"),
    ],
)
def test_a_withheld_value_is_described_by_its_shape(value, said):
    assert describe(value) == said
    assert value not in said


# --- the quarantine CLI over many withheld rows ---------------------------------------------------


def _row_level(contract, column: str) -> list[str]:
    """The corpus forms the identifier guard does not recognise in `column`: only the
    allowlist stands between them and the quarantine."""
    guard = guard_columns(contract)
    return [
        v for _, v in CORPUS if not scan_identifiers(pl.DataFrame({column: [v.strip()]}), **guard)
    ]


def test_quarantine_show_and_list_print_no_corpus_value(quality_world, hearth_home, tmp_path):
    landing = tmp_path / "landing"
    placed = 0
    with connect(hearth_home / "warehouse.duckdb") as con:
        for source in sorted({p.source for p in PLACEMENTS}):
            month = BASELINE if source in ("people", "addresses") else LATEST
            base = quality_world.frame(source, month)
            contract = load_contract(source)
            frame = base
            for p in (p for p in PLACEMENTS if p.source == source):
                rows = base.with_row_index("_i").filter(pl.col(p.column).is_not_null())["_i"]
                # fewer than half a column's values (or under the minimum judged): rows, not a
                # changed column
                room = len(rows) if len(rows) < MAJORITY_MIN_ROWS else (len(rows) - 1) // 2
                values = _row_level(contract, p.column)[:room]
                for i, v in zip(rows, values, strict=False):
                    frame = put_rows(frame, p.column, [int(i)], v)
                placed += len(values[: len(rows)])
            path = landing / source / month / quality_world.path(source, month).name
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".parquet":
                frame.write_parquet(path)
            else:
                path.write_bytes(csv_bytes(frame.with_columns(pl.all().cast(pl.String))))
            r = ingest_extract(con, contract, Extract(source, month, path))
            assert r.status == "loaded", r.message
            assert r.rows_quarantined > 0
    assert placed > 100
    runner = CliRunner()
    out = runner.invoke(app, ["quarantine", "list"], env={"COLUMNS": "200"}).output
    for source in sorted({p.source for p in PLACEMENTS}):
        month = BASELINE if source in ("people", "addresses") else LATEST
        for args in ([], ["--json"], ["--limit", "500"]):
            for width in ("200", "80"):
                res = runner.invoke(
                    app,
                    ["quarantine", "show", "--source", source, "--month", month, *args],
                    env={"COLUMNS": width},
                )
                assert res.exit_code == 0, res.output
                out += res.output
    assert "[withheld: " in out
    low = out.lower()
    for _, value in CORPUS:
        for form in forms_of(value):
            assert form.lower() not in low, (value, form)


def test_show_withholds_again_what_an_older_warehouse_kept(quality_world, hearth_home, tmp_path):
    """A warehouse written before the allowlist kept unknown codes verbatim: show checks every
    value again, so nothing of it is printed."""
    with connect(hearth_home / "warehouse.duckdb") as con:
        con.execute(
            "INSERT INTO quarantine VALUES ('fire', ?, 'fire/x.csv', 1, 'unknown_code', 'cause', "
            "now()::TIMESTAMP, ?)",
            [LATEST, json.dumps({"record_id": "FR000001", "cause": "Mrs Jane Doe"})],
        )
    out = CliRunner().invoke(
        app, ["quarantine", "show", "--source", "fire", "--month", LATEST, "--json"]
    )
    assert out.exit_code == 0, out.output
    values = json.loads(out.output)["values"]
    assert values["record_id"] == "FR000001"
    assert values["cause"] == "[withheld: 12 characters: capital letters, small letters, spaces]"


# --- whole-column faults --------------------------------------------------------------------------


def _ingest(tmp_path, source: str, month: str, frame: pl.DataFrame):
    path = tmp_path / "landing" / source / month / f"{source}_{month}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    with connect(tmp_path / "w.duckdb") as con:
        r = ingest_extract(con, load_contract(source), Extract(source, month, path))
        held = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    return r, held


def test_a_code_column_sent_as_integers_is_refused_naming_both_types(quality_world, tmp_path):
    """Health's category as Int64 (issue 22, point 8): not read row by row, but refused."""
    base = quality_world.frame("health")
    codes = {c: i for i, c in enumerate(["RESPIRATORY", "FALL", "MENTAL_HEALTH", "SUBSTANCE"])}
    frame = base.with_columns(
        pl.col("category").replace_strict(codes, default=9, return_dtype=pl.Int64)
    )
    r, held = _ingest(tmp_path, "health", LATEST, frame)
    assert (r.status, r.rule, r.column) == ("refused", "schema_matches_contract", "category")
    assert "column 'category' is declared as text (VARCHAR)" in r.message
    assert "received as whole numbers (Int64)" in r.message
    assert f"file health/{LATEST}/health_{LATEST}.parquet" in r.message
    assert held == 0 and not re.search(r"\b[0-9]\b", r.message.split("(Int64)")[1])


def test_an_all_empty_column_of_another_type_is_not_a_type_change(quality_world, tmp_path):
    base = quality_world.frame("health")
    frame = base.with_columns(pl.lit(None, pl.Float64).alias("smoking_status"))
    frame = frame.filter(pl.col("event_type") != "SMOKING_STATUS")
    r, _ = _ingest(tmp_path, "health", LATEST, frame)
    assert r.status == "loaded", r.message


def test_a_column_whose_every_date_changed_format_names_both_forms(quality_world, tmp_path):
    base = quality_world.frame("health")
    frame = base.with_columns(pl.col("event_date").dt.strftime("%d/%m/%Y"))
    r, held = _ingest(tmp_path, "health", LATEST, frame)
    assert (r.status, r.rule, r.column) == ("refused", "schema_matches_contract", "event_date")
    assert "declared as a date (YYYY-MM-DD)" in r.message
    assert "most are 10 characters: digits, slashes" in r.message
    assert held == 0 and not re.search(r"[0-9]{2}/[0-9]{2}", r.message)


def test_an_optional_code_column_whose_every_value_changed_is_refused(quality_world, tmp_path):
    """Codes sent as numbers in text: every present value breaks the code list, however many
    rows leave the column empty; a changed column, not bad rows."""
    base = quality_world.frame("health")
    present = base["category"].is_not_null().sum()
    assert MAJORITY_MIN_ROWS <= present < base.height / 2
    frame = base.with_columns(
        pl.when(pl.col("category").is_not_null()).then(pl.lit("7")).alias("category")
    )
    r, held = _ingest(tmp_path, "health", LATEST, frame)
    assert (r.status, r.column) == ("refused", "category"), r.message
    assert "one of the contract's codes" in r.message and "1 character: digits" in r.message
    assert held == 0


# --- names ------------------------------------------------------------------------------------

ESCAPE = "\x1b[2J\x1b[H"


def test_landed_names_with_control_characters_are_shown_escaped(quality_world, tmp_path):
    landing = tmp_path / "landing"
    month_dir = landing / "police" / LATEST
    month_dir.mkdir(parents=True)
    data = quality_world.path("police", LATEST).read_bytes()
    (month_dir / f"police{ESCAPE}\r\u202ecsv.csv").write_bytes(data)
    (month_dir / f"notes{ESCAPE}.xlsx").write_bytes(b"x")
    (landing / "police" / f"2025{ESCAPE}").mkdir()
    inv = inventory(landing)
    shown = [e.file_name for e in inv.extracts] + [u.sentence() for u in inv.unread]
    assert len(shown) == 3
    for text in shown:
        assert not re.search(r"[\x00-\x1f\x7f\u202e]", text), repr(text)
    assert "police\\x1b[2J\\x1b[H\\x0d\\u202ecsv.csv" in shown[0]
    with connect(tmp_path / "w.duckdb") as con:
        r = ingest_extract(con, load_contract("police"), inv.extracts[0])
        logged = con.execute("SELECT file_name FROM ingest_log").fetchall()
    assert r.status == "loaded"
    assert logged == [(inv.extracts[0].file_name,)]
    assert "\x1b" not in logged[0][0]


def test_headers_are_named_only_when_they_are_headers():
    assert header_is_shown("nhs_number") and header_is_shown("NHS Number")
    assert header_is_shown("Client ID") and header_is_shown("person_pid")
    for value in ("SECRET-TOKEN-4242", "Jane Doe", "jane", "9434765919", "SW1A 1AA", "SMITH"):
        assert not header_is_shown(value), value
    said = headers_described(["client_id", "SECRET-TOKEN-4242", "Mary Smith"])
    assert said.startswith("client_id; 2 more whose names are not shown")
    assert "SECRET" not in said and "Mary" not in said


def test_reidentify_on_a_list_without_its_header_prints_no_value(tmp_path):
    from hearth.privacy.reidentify import ReidentifyError, _read_clients

    headerless = tmp_path / "clients.csv"
    headerless.write_text("SECRET-TOKEN-4242,943 476 5919,Jane Doe\nA,B,C\n")
    with pytest.raises(ReidentifyError) as err:
        _read_clients(headerless, "nhs_number")
    said = str(err.value)
    assert "3 more whose names are not shown" in said
    for secret in ("SECRET", "4242", "943 476", "Jane"):
        assert secret not in said
    named = tmp_path / "named.csv"
    named.write_text("client_id,NHS No\n1,2\n")
    with pytest.raises(ReidentifyError, match="its columns are: client_id, NHS No."):
        _read_clients(named, "nhs_number")
