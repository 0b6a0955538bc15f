"""The partner's output is shaped by the data contract: `hearth pseudonymise --source` writes
only the contract's columns, drops and names the others, and refuses the whole output when a
kept column holds a value not of its declared shape - naming the column, the rule and how many,
never a value. Real contracts, real files, the real CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from hearth.ingest.shapes import column_shape, faults
from hearth.privacy.pseudonymise import PseudonymiseError, hmac_hex, pseudonymise_file
from hearth.quality.contracts import load_all
from hearth.sources import SOURCES

KEY = b"test-key-NOT-REAL-3a9c1e7d5b2f4a6c"
NHS = "9434765919"
RAW = {  # what a police system exports beside the extract's columns
    "full_name": ["Mary Smith", "O'BRIEN, MARY", "jane doe"],
    "date_of_birth": ["1980-05-14", "14/05/1980", "19800514"],
    "uprn": ["100012345678", "100012345679", "100012345680"],
}
POLICE = {
    "record_id": ["PL000001122", "PL-000002", "PL000000003"],
    "nhs_number": [NHS, "943 476 5919", None],
    "event_date": ["2025-03-14", "2025-03-28", "2025-03-30"],
    "event_type": ["DOMESTIC_ABUSE", "ASB", "MISSING_PERSON"],
    "risk_level": ["HIGH", None, None],
}


def _police(tmp_path: Path, **changes: list) -> Path:
    src = tmp_path / "police_raw.csv"
    pl.DataFrame({**POLICE, **RAW, **changes}).write_csv(src)
    return src


def _cli(*args: str):
    from hearth.cli.app import app

    return CliRunner().invoke(app, ["pseudonymise", *args])


@pytest.fixture
def key_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("HEARTH_PSEUDONYMISATION_KEY", raising=False)
    path = tmp_path / "partner.key"
    path.write_bytes(KEY)
    path.chmod(0o600)
    return path


def test_columns_the_contract_does_not_hold_are_dropped_and_named(tmp_path, key_file):
    """The issue's extract: names, dates of birth and raw UPRNs beside the mapped NHS number."""
    src, dst = _police(tmp_path), tmp_path / "police.csv"
    result = _cli(
        "--source", "police", "--key-file", str(key_file), "--columns", "nhs_number:person_pid",
        str(src), str(dst),
    )  # fmt: skip
    out = " ".join(result.output.split())
    assert result.exit_code == 0, out
    assert (
        "dropped 3 columns the police contract does not hold: full_name, date_of_birth, uprn" in out
    )
    assert "The file has no column 'household_pid'" in out and "written empty" in out
    written = pl.read_csv(dst, infer_schema=False)
    assert tuple(written.columns) == SOURCES["police"].base_columns  # no tokens asked for
    assert written["person_pid"].to_list()[:2] == hmac_hex(KEY, [NHS, NHS])
    assert written["household_pid"].null_count() == 3
    text = dst.read_text()
    for values in RAW.values():
        for v in values:
            assert v not in text and v not in out
    assert NHS not in text


def test_a_mapped_uprn_is_kept_under_the_contract_name(tmp_path):
    src, dst = _police(tmp_path), tmp_path / "police.parquet"
    renames = {"nhs_number": "person_pid", "uprn": "household_pid"}
    result = pseudonymise_file(KEY, renames, src, dst, source="police")
    assert result.dropped == ("full_name", "date_of_birth") and result.source == "police"
    written = pl.read_parquet(dst)
    assert written["household_pid"].to_list() == hmac_hex(KEY, RAW["uprn"])
    assert "; dropped 2 columns the police contract does not hold" in result.summary()


@pytest.mark.parametrize(
    "column, values, rule",
    [
        ("event_type", ["DOB 14 May 1980", "ASB", "Mrs Jane Doe"], "one of the contract's codes"),
        ("risk_level", ["HIGH", "(020) 7946 0958", None], "one of the contract's codes"),
        ("record_id", ["PL000001122", NHS, "94 34 76 59 19"], "text of the form ^PL-?[0-9]{6,9}$"),
        ("event_date", ["2025-03-14", "14/05/1980", "2025-03-30"], "a date (YYYY-MM-DD)"),
    ],
)
def test_a_value_not_of_its_declared_shape_refuses_the_whole_output(
    tmp_path, key_file, column, values, rule
):
    src, dst = _police(tmp_path, **{column: values}), tmp_path / "police.csv"
    result = _cli(
        "--source", "police", "--key-file", str(key_file), "--columns", "nhs_number:person_pid",
        str(src), str(dst),
    )  # fmt: skip
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and not dst.exists()
    bad = [v for v in values if v and v not in POLICE[column]]
    n = len(bad)
    assert f"column '{column}' holds {n} value{'s' if n != 1 else ''} not of its declared" in out
    assert f"declared shape ({rule})" in out and "Nothing was written" in out
    for v in bad:
        assert v not in out


def test_an_identifier_in_a_number_column_is_refused(tmp_path):
    src = tmp_path / "people.csv"
    pl.DataFrame(
        {
            "nhs_number": [NHS, NHS],
            "uprn": ["100012345678", "100012345678"],
            "birth_year": ["1950", NHS],
            "sex": ["F", "M"],
            "ethnic_group": ["WHITE", "ASIAN"],
            "status": ["RESIDENT", "RESIDENT"],
            "effective_date": ["2025-01-01", "2025-01-01"],
        }
    ).write_csv(src)
    renames = {"nhs_number": "person_pid", "uprn": "household_pid"}
    with pytest.raises(PseudonymiseError, match=r"'birth_year' holds 1 value .*whole number") as e:
        pseudonymise_file(KEY, renames, src, tmp_path / "out.csv", source="people")
    assert NHS not in str(e.value)


def test_without_source_only_a_file_of_exactly_one_contract_is_written(tmp_path, key_file):
    exact = tmp_path / "exact.csv"
    pl.DataFrame(POLICE).write_csv(exact)
    renames = {"nhs_number": "person_pid"}
    # police's columns less household_pid (optional): not exactly a contract's
    with pytest.raises(PseudonymiseError, match="Give --source .* give --source police"):
        pseudonymise_file(KEY, renames, exact, tmp_path / "a.csv")
    pl.DataFrame({**POLICE, "household_pid": [None, None, None]}).write_csv(exact)
    result = pseudonymise_file(KEY, renames, exact, tmp_path / "b.csv")
    assert result.source == "police" and result.dropped == ()
    src = _police(tmp_path, household_pid=[None, None, None])
    refused = _cli("--key-file", str(key_file), "--columns", "nhs_number:person_pid",
                   str(src), str(tmp_path / "c.csv"))  # fmt: skip
    out = " ".join(refused.output.split())
    assert refused.exit_code == 2 and not (tmp_path / "c.csv").exists()
    assert "It has the columns the police contract requires: give --source police" in out


@pytest.mark.parametrize(
    "renames, problem",
    [
        ({"nhs_number": "person_ref"}, "'person_ref' .* is not a column of the police contract"),
        ({"nhs_number": "record_id"}, "'record_id' .* is not a pseudonym column"),
    ],
)
def test_a_pseudonym_goes_only_in_a_pseudonym_column_of_the_contract(tmp_path, renames, problem):
    src = _police(tmp_path)
    if "record_id" in renames.values():
        src.write_text(src.read_text().replace("record_id", "ref", 1))
    with pytest.raises(PseudonymiseError, match=problem):
        pseudonymise_file(KEY, renames, src, tmp_path / "o.csv", source="police")


def test_a_file_without_its_header_shows_none_of_its_values(tmp_path):
    src = tmp_path / "headless.csv"
    src.write_text(f"PL000001122,{NHS},2025-03-14,ASB,\nPL000001123,{NHS},2025-03-15,ASB,\n")
    for source in ("police", None):
        with pytest.raises(PseudonymiseError) as e:
            pseudonymise_file(KEY, {}, src, tmp_path / "o.csv", source=source)
        assert NHS not in str(e.value) and "PL000001122" not in str(e.value)
    with pytest.raises(PseudonymiseError) as e:
        pseudonymise_file(KEY, {"nhs_number": "person_pid"}, src, tmp_path / "o.csv")
    assert "column 2 (its name is not shown: it looks like a value)" in str(e.value)
    assert NHS not in str(e.value)


def test_typed_parquet_columns_have_their_shape(tmp_path):
    src = tmp_path / "people.parquet"
    pl.DataFrame(
        {
            "nhs_number": [NHS],
            "uprn": [100012345678],
            "birth_year": pl.Series([1950.0], dtype=pl.Float64),  # pandas with a gap
            "sex": ["F"],
            "ethnic_group": ["WHITE"],
            "status": ["RESIDENT"],
            "effective_date": [dt.date(2025, 1, 1)],
        }
    ).write_parquet(src)
    renames = {"nhs_number": "person_pid", "uprn": "household_pid"}
    result = pseudonymise_file(KEY, renames, src, tmp_path / "o.parquet", source="people")
    assert result.written == SOURCES["people"].base_columns


def test_every_source_of_a_synthetic_world_passes_with_raw_columns_dropped(small_world, tmp_path):
    """No false refusal on real-shaped extracts: each source's file, with identifying columns
    added, is written back as it was, less those columns. (The world sends no interventions
    unless it runs the closed loop: every source it does send is checked.)"""
    sent = [s for s in SOURCES if (small_world / "landing" / s).is_dir()]
    assert {"people", "addresses", "social_care", "health", "fire", "police"} <= set(sent)
    for source in sent:
        first = sorted(f for f in (small_world / "landing" / source).rglob("*.*"))[0]
        parquet = first.suffix == ".parquet"
        extract = pl.read_parquet(first) if parquet else pl.read_csv(first, infer_schema=False)
        raw = extract.with_columns(pl.lit("Mary Smith").alias("full_name"))
        src, dst = tmp_path / f"{source}_raw{first.suffix}", tmp_path / f"{source}{first.suffix}"
        raw.write_parquet(src) if parquet else raw.write_csv(src)
        result = pseudonymise_file(KEY, {}, src, dst, source=source)
        assert result.dropped == ("full_name",) and extract.height > 0
        written = pl.read_parquet(dst) if parquet else pl.read_csv(dst, infer_schema=False)
        assert written.equals(extract), source


def test_the_declared_shapes_of_every_contract_column():
    """Each column's shape accepts its contract's own codes and refuses identifier forms."""
    forms = ["Mary Smith", "(020) 7946 0958", "jane.doe@example.org", "SW1A 1AA", "14 May 1980"]
    for contract in load_all().values():
        for column in contract.columns:
            shape = column_shape(column)
            assert shape.keeps_anything, (contract.source, column.name)
            if column.allowed_values:
                assert faults(column, pl.Series(list(column.allowed_values))) == 0
            assert faults(column, pl.Series(forms)) == len(forms), column.name
