"""One person, one pseudonym: the written forms of a number give one pseudonym, mangled numbers
are refused with counts, checks are counted (never a value), the contract's names are written,
and an existing output is not replaced unasked."""

from __future__ import annotations

import polars as pl
import pytest
import typer

from hearth.cli.pseudonymise import parse_renames, pseudonymise_command
from hearth.ingest.identifiers import identifier_like_columns
from hearth.privacy.identifier_forms import MangledIdentifier, kind_of, normalise
from hearth.privacy.pseudonymise import PseudonymiseError, hmac_hex
from tests.unit.privacy.contract_helpers import column, contract_of, pseudonymise_file

KEY = b"test-key-NOT-REAL-5e1d0c9b8a7f6e5d"
NHS = "9434765919"  # the NHS's own example number: valid check digit
NHS_BAD = "9434765918"  # one digit off: fails the modulus-11 check
UPRN = "100012345678"


def _pid(text: str) -> str:
    return hmac_hex(KEY, [text])[0]


@pytest.mark.parametrize(
    "form",
    [
        NHS,
        "943 476 5919",
        "943-476-5919",
        "943\u2013476\u20135919",  # an en dash, as a word processor writes it
        " 943 - 476 - 5919 ",
        "9434765919.0",
        "9434765919.00",
        9434765919,
        9434765919.0,
    ],
)
def test_spaced_dashed_and_float_forms_give_one_pseudonym(form):
    assert normalise(form) == NHS
    assert hmac_hex(KEY, [form]) == [_pid(NHS)]


def test_values_not_in_a_number_form_are_hashed_as_they_are():
    assert normalise("AB-123") == "AB-123"  # letters: not a grouped number
    assert normalise("12.5") == "12.5"
    assert normalise("0012") == "0012"  # leading zeros are part of some identifiers
    assert normalise("  ") is None and normalise(None) is None and normalise(float("nan")) is None


@pytest.mark.parametrize("value", ["1.00012E+11", "1.00012e11", "1E+11", "-2.5e-3", 1.5])
def test_scientific_notation_and_fractions_are_mangled(value):
    with pytest.raises(MangledIdentifier) as e:
        normalise(value)
    assert "1" not in str(e.value)  # the message names no value


def test_a_file_of_the_three_forms_gives_one_pseudonym_per_person(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(
        "nhs_number,uprn\n943 476 5919,100012345678\n943-476-5919,100012345678.0\n"
        f"9434765919.0,{UPRN}\n"
    )
    result = pseudonymise_file(KEY, {"nhs_number": "person_pid", "uprn": "household_pid"}, src, dst)
    out = pl.read_csv(dst, infer_schema=False)
    assert out["person_pid"].to_list() == [_pid(NHS)] * 3
    assert out["household_pid"].to_list() == [_pid(UPRN)] * 3
    assert result.distinct == {"nhs_number": 1, "uprn": 1}
    text = " ".join(result.notes)
    assert "Column 'nhs_number': 3 of 3 values were written with spaces, dashes" in text
    assert "Column 'uprn': 1 of 3 values" in text
    assert NHS not in text and UPRN not in text


def test_a_parquet_float_column_of_whole_numbers_is_read_as_those_numbers(tmp_path):
    src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pl.DataFrame({"uprn": [float(UPRN), None, float("nan")]}).write_parquet(src)
    pseudonymise_file(KEY, {"uprn": "household_pid"}, src, dst)
    assert pl.read_parquet(dst)["household_pid"].to_list() == [_pid(UPRN), None, None]


def test_a_float_column_with_fractions_is_refused_with_a_count(tmp_path):
    src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pl.DataFrame({"uprn": [float(UPRN), 12.5, 7.25]}).write_parquet(src)
    with pytest.raises(PseudonymiseError, match=r"Column 'uprn' .* holds 2 decimal numbers"):
        pseudonymise_file(KEY, {"uprn": "household_pid"}, src, dst)
    assert not dst.exists()


def test_scientific_notation_is_refused_with_counts_never_values(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(f"uprn\n1.00012E+11\n{UPRN}\n1.00012E+11\n1.2e11\n")
    with pytest.raises(PseudonymiseError) as e:
        pseudonymise_file(KEY, {"uprn": "household_pid"}, src, dst)
    message = str(e.value)
    assert "Column 'uprn' in" in message and "3 of 4 values are a number in scientific" in message
    assert "1.2e11" not in message and UPRN not in message and "Nothing was written" in message
    assert not dst.exists()


def test_a_column_already_pseudonymised_is_not_hashed_again(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    pseudonymise_file(KEY, {"nhs_number": "person_pid"}, _csv(src, [NHS, NHS_BAD]), dst)
    again = tmp_path / "again.csv"
    with pytest.raises(PseudonymiseError, match=r"2 of 2 values are already pseudonyms") as e:
        pseudonymise_file(KEY, ["person_pid"], dst, again)
    assert _pid(NHS) not in str(e.value) and not again.exists()


def _csv(path, values: list[str], column: str = "nhs_number"):
    path.write_text("\n".join([column, *values]) + "\n")
    return path


def test_nhs_numbers_failing_the_check_digit_are_counted_not_shown(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(f"nhs_number\n{NHS}\n{NHS_BAD}\n{NHS_BAD}\n12345\nNOT-A-NUMBER\n\n")
    result = pseudonymise_file(KEY, {"nhs_number": "person_pid"}, src, dst)
    (note,) = result.notes
    assert note.startswith("Column 'nhs_number': 4 of 5 values are not valid NHS numbers")
    assert "modulus-11" in note and NHS_BAD not in note and "12345" not in note
    assert pl.read_csv(dst, infer_schema=False).height == 6  # pseudonymised as given


def test_uprns_that_are_not_1_to_12_digits_are_counted(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(f"property\n{UPRN}\n1234567890123\nFLAT 1\n")
    result = pseudonymise_file(KEY, {"property": "household_pid"}, src, dst)
    spaced, not_uprn = result.notes  # "FLAT 1" was written with a space
    assert spaced.startswith("Column 'property': 1 of 3 values were written with spaces")
    assert not_uprn.startswith("Column 'property': 2 of 3 values are not UPRNs")


def test_what_a_column_holds_comes_from_its_contract_name_then_its_own():
    assert kind_of("client_ref", "person_pid") == "nhs_number"
    assert kind_of("prop", "household_pid") == "uprn"
    assert kind_of("NHS_No", "id_pid") == "nhs_number"
    assert kind_of("uprn") == "uprn" and kind_of("ref") is None


def test_a_kept_identifier_name_is_refused_with_the_contract_name_to_give(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(f"nhs_number,uprn\n{NHS},{UPRN}\n")
    for columns, how in [
        (["nhs_number"], "--columns nhs_number:person_pid."),
        (["nhs_number", "uprn"], "--columns nhs_number:person_pid,uprn:household_pid."),
        ({"uprn": "uprn"}, "--columns uprn:household_pid."),
        (
            {"nhs_number": "person_pid", "uprn": "postcode"},
            "--columns nhs_number:person_pid,uprn:household_pid.",
        ),
    ]:
        with pytest.raises(PseudonymiseError, match="no_raw_identifiers") as e:
            pseudonymise_file(KEY, columns, src, tmp_path / "out.csv")
        assert how in str(e.value)
    assert not (tmp_path / "out.csv").exists()
    # what the suggestion writes, Hearth's raw-identifier guard accepts by name
    assert identifier_like_columns(["person_pid", "household_pid"]) == []
    assert identifier_like_columns(["nhs_number", "uprn"]) == ["nhs_number", "uprn"]


def test_a_new_name_may_not_clash_with_another_column(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(f"nhs_number,person_pid,uprn\n{NHS},x,{UPRN}\n")
    with pytest.raises(PseudonymiseError, match="already has a column of that name"):
        pseudonymise_file(KEY, {"nhs_number": "person_pid"}, src, tmp_path / "out.csv")
    with pytest.raises(PseudonymiseError, match="both be named 'household_pid'"):
        pseudonymise_file(
            KEY, {"nhs_number": "household_pid", "uprn": "household_pid"}, src, tmp_path / "o.csv"
        )


def test_parse_renames():
    assert parse_renames("nhs_number:person_pid, ref ,uprn : household_pid") == {
        "nhs_number": "person_pid",
        "ref": "ref",
        "uprn": "household_pid",
    }
    for bad in ["nhs_number:", ":person_pid", "a:b:c"]:
        with pytest.raises(PseudonymiseError, match="is not a column or column:new_name"):
            parse_renames(bad)
    with pytest.raises(PseudonymiseError, match="named more than once"):
        parse_renames("a:x,a:y")


def test_an_existing_output_is_replaced_only_when_asked(tmp_path, capsys):
    key_file = tmp_path / "k"
    key_file.write_bytes(KEY)
    key_file.chmod(0o600)
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(f"nhs_number\n{NHS}\n")
    dst.write_text("someone's earlier work\n")
    only = contract_of(column("person_pid"))
    with pytest.raises(typer.Exit) as e:
        pseudonymise_command(key_file, "nhs_number:person_pid", src, dst, source=only)
    assert e.value.exit_code == 2
    err = capsys.readouterr().err
    assert "already exists; nothing was written. Give --overwrite" in err
    assert dst.read_text() == "someone's earlier work\n"
    pseudonymise_command(key_file, "nhs_number:person_pid", src, dst, True, only)
    assert pl.read_csv(dst)["person_pid"].to_list() == [_pid(NHS)]


def _readme_example() -> tuple[str, str]:
    """The `--source` and `--columns` of the README's pseudonymise example, as a partner
    analyst copies them."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    pattern = r"hearth pseudonymise --source (\S+) --key-file \S+ --columns (\S+) "
    ((source, columns),) = re.findall(pattern, readme)
    return source, columns


def test_what_the_readme_example_writes_hearth_accepts(quality_world, tmp_path, monkeypatch):
    """A police extract as the agency holds it (NHS numbers and UPRNs, in mixed forms),
    pseudonymised with the README's command, lands and loads through the quality gate."""
    from hearth.ingest.landing import Extract
    from hearth.ingest.load import ingest_extract
    from hearth.quality.contracts import load_contract
    from hearth.synth.ids import nhs_numbers, uprns
    from hearth.warehouse import connect
    from tests.support.quality_corpus import LATEST

    pseudo = quality_world.frame("police", LATEST)
    people = pseudo["person_pid"].unique(maintain_order=True).to_list()
    homes = pseudo["household_pid"].drop_nulls().unique(maintain_order=True).to_list()
    nhs = dict(zip(people, map(str, nhs_numbers(len(people), 3).tolist()), strict=True))
    uprn = dict(zip(homes, map(str, uprns(len(homes), 3).tolist()), strict=True))
    raw = pseudo.with_columns(
        pl.col("person_pid").replace_strict(nhs).alias("person_pid"),
        (pl.col("household_pid").replace_strict(uprn, default=None) + ".0"),
    ).rename({"person_pid": "nhs_number", "household_pid": "uprn"})
    raw = raw.with_columns(  # every other NHS number as a dashed 3-3-4
        pl.when(pl.int_range(pl.len()) % 2 == 0)
        .then(pl.col("nhs_number").str.replace(r"^(\d{3})(\d{3})(\d{4})$", "$1-$2-$3"))
        .otherwise(pl.col("nhs_number"))
    )
    # and what the police system exports beside them, which must not leave
    raw = raw.with_columns(
        full_name=pl.lit("Mary Smith"), date_of_birth=pl.lit("1980-05-14"), uprn_text=pl.lit("x")
    )
    raw.write_csv(tmp_path / "police_raw.csv")
    key_file = tmp_path / "shared.key"
    key_file.write_bytes(KEY)
    key_file.chmod(0o600)
    landed = tmp_path / "landing" / "police" / LATEST / quality_world.path("police", LATEST).name
    source, columns = _readme_example()
    result = pseudonymise_command(
        key_file, columns, tmp_path / "police_raw.csv", landed, source=source
    )
    assert result.dropped == ("full_name", "date_of_birth", "uprn_text")
    assert "Mary Smith" not in landed.read_text() and "1980-05-14" not in landed.read_text()

    out = pl.read_csv(landed, infer_schema=False)
    assert out.columns == pseudo.columns
    by_person = out.select("person_pid", p=pl.Series(pseudo["person_pid"]))
    assert by_person.unique().height == len(people)  # one pseudonym per person, both forms
    monkeypatch.setenv("HEARTH_HOME", str(tmp_path / "home"))
    with connect(tmp_path / "w.duckdb") as con:
        result = ingest_extract(con, load_contract("police"), Extract("police", LATEST, landed))
    assert result.status == "loaded", result.message
