"""Keyed-hash tokens of quasi-identifiers (issue 25): the standardisation makes the written
forms of one name, date or postcode one token; tokens are made under the linkage key only;
`hearth pseudonymise --tokens` writes them in the contract's token columns, never a raw value."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from hearth.privacy.pseudonymise import PseudonymiseError, _Hmac, pseudonymise_file
from hearth.privacy.tokens import (
    BIGRAMS_PATTERN,
    TOKEN_PATTERN,
    TOKEN_VERSION,
    make_tokens,
    premise,
    soundex,
    standard_date,
    standard_name,
    standard_postcode,
)
from hearth.sources import SOURCES

KEY = b"identifier-key-NOT-REAL-7d5b2f4a6c"
LINK = b"linkage-key-NOT-REAL-1e7d5b2f4a6c9"


def _mac(key: bytes):
    return lambda text: hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _tokens(key: bytes = LINK, **columns: list) -> dict[str, list]:
    made = make_tokens(_mac(key), {k: pl.Series(k, v, dtype=pl.String) for k, v in columns.items()})
    return {k: v.to_list() for k, v in made.items()}


@pytest.mark.parametrize(
    ("forms", "forename"),
    [
        (["Bob", "Robert", "ROBERT", "bobby", " Rob "], True),  # nicknames
        (["Mr Robert James", "robert-", "Róbert"], True),  # a title, a middle name, an accent
        (["McDonald", "MacDonald", "Mc Donald", "mcdonald", "MACDONALD"], False),  # Mc / Mac
        (["O'Brien", "OBrien", "o\u2019brien", "O Brien"], False),  # apostrophes, spacing
        (["Smith-Jones", "Smith Jones", "SMITH JONES", "smith\u2013jones"], False),  # hyphens
        (["Zoë", "ZOE", "Zoe"], False),  # accents
        (["Łukasz", "Lukasz"], False),
    ],
)
def test_written_forms_of_one_name_give_one_token(forms, forename):
    kind = "forename" if forename else "surname"
    made = _tokens(**{kind: forms})
    for column, values in made.items():
        assert len(set(values)) == 1 and values[0] is not None, (forms, column)


def test_different_names_differ_and_phonetic_codes_group_sounds():
    assert standard_name("Smith") != standard_name("Smyth")
    assert soundex("SMITH") == soundex("SMYTHE") == "S530"
    assert soundex("ROBERT") == soundex("RUPERT") == "R163"
    assert soundex("ASHCRAFT") == "A261" and soundex("TYMCZAK") == "T522"
    made = _tokens(surname=["Smith", "Smyth", "Jones"])
    assert made["family_token"][0] != made["family_token"][1]
    assert made["family_phonetic_token"][0] == made["family_phonetic_token"][1]
    assert made["family_phonetic_token"][0] != made["family_phonetic_token"][2]
    # bigram sets: Dice of Smith and Smyth is high, of Smith and Jones zero
    a, b, c = (set(v.split()) for v in made["family_bigram_tokens"])
    assert 2 * len(a & b) / (len(a) + len(b)) >= 0.5 and not a & c
    for v in made["family_bigram_tokens"]:
        assert re.fullmatch(BIGRAMS_PATTERN, v) and v.split() == sorted(v.split())
    # a one-letter name still has two bigrams, so a lone date (19800514) is not a bigram set
    assert len(_tokens(surname=["A"])["family_bigram_tokens"][0].split()) == 2
    assert not re.fullmatch(BIGRAMS_PATTERN, "19800514")


def test_swapped_day_and_month_give_the_same_part_tokens_crosswise():
    made = _tokens(date_of_birth=["1980-03-05", "05/03/1980", "5.3.1980", "1980-05-03"])
    assert len(set(made["birth_token"][:3])) == 1  # three writings of 5 March 1980
    assert made["birth_token"][3] != made["birth_token"][0]
    assert len(set(made["birth_year_token"])) == 1
    # the swapped record's month is the original's day, and its day the original's month
    assert made["birth_month_token"][3] == made["birth_day_token"][0]
    assert made["birth_day_token"][3] == made["birth_month_token"][0]
    assert standard_date("31/02/1980") == ("1980", "02", "31")  # parts kept as written
    assert standard_date("not a date") is None and standard_date("1980-40-01") is None


def test_postcode_spacing_and_case_and_its_levels():
    assert (
        standard_postcode("sw1a1aa")
        == standard_postcode(" SW1A  1AA ")
        == (
            "SW1A 1AA",
            "SW1A 1",
            "SW1A",
        )
    )
    assert standard_postcode("M1 1AE") == ("M1 1AE", "M1 1", "M1")
    assert standard_postcode("not a postcode") is None
    made = _tokens(
        postcode=["SW1A 1AA", "sw1a1aa", "SW1A 1AB", "SW1A 2AA", "SW1A 1AA"],
        address=["12 High St", "12, High Street", "12 High St", "12 High St", "12 Mill Lane"],
    )
    assert made["pc_unit_token"][0] == made["pc_unit_token"][1] != made["pc_unit_token"][2]
    assert made["pc_sector_token"][0] == made["pc_sector_token"][2] != made["pc_sector_token"][3]
    assert len(set(made["pc_district_token"])) == 1
    assert made["premise_token"][0] == made["premise_token"][1] != made["premise_token"][2]
    # the street is part of the premise: the same number in the same unit's other street is not
    # the same house (a postcode mistyped into the next unit must not meet it)
    assert made["premise_token"][4] != made["premise_token"][0]
    assert premise("Flat 2, 12 High Rd") == "2|HIGH ROAD"
    assert premise("Rose Cottage, Mill Ln") == "ROSE|COTTAGE MILL LANE"
    for v in made["pc_unit_token"]:
        assert re.fullmatch(TOKEN_PATTERN, v)


def test_tokens_differ_under_another_linkage_key_and_are_tagged_by_version():
    one = _tokens(LINK, surname=["Smith"], date_of_birth=["1980-03-05"])
    two = _tokens(
        b"another-linkage-key-NOT-REAL-0000", surname=["Smith"], date_of_birth=["1980-03-05"]
    )
    for column in one:
        assert one[column] != two[column], column
    # what is hashed carries the version, so tokens of two versions never agree
    expected = _mac(LINK)(f"{TOKEN_VERSION}|name|SMITH")[:32]
    assert one["family_token"] == [expected]


POLICE_RAW = {
    "record_id": ["PL000000001", "PL000000002", "PL000000003"],
    "uprn": ["100012345678", None, "100012345680"],
    "event_date": ["2025-03-14", "2025-03-28", "2025-03-30"],
    "event_type": ["DOMESTIC_ABUSE", "ASB", "MISSING_PERSON"],
    "risk_level": ["HIGH", None, None],
    "first_name": ["Bob", "Aisha", "Zoë"],
    "last_name": ["McDonald", "Khan", "Kowalska-Nowak"],
    "dob": ["14/05/1980", "1975-01-02", "2001-12-11"],
    "post_code": ["sw1a 1aa", "M1 1AE", "LS1 4AP"],
    "address_line": ["12 Acacia Road", "Flat 3, 4 Mill Lane", "The Cottage"],
}
TOKENS = {
    "first_name": "forename",
    "last_name": "surname",
    "dob": "date_of_birth",
    "post_code": "postcode",
    "address_line": "address",
}


def _run(tmp_path: Path, name: str = "out.csv", **kw):
    src = tmp_path / "police_raw.csv"
    pl.DataFrame(POLICE_RAW).write_csv(src)
    dst = tmp_path / name
    kw.setdefault("tokens", TOKENS)
    kw.setdefault("linkage_key", LINK)
    result = pseudonymise_file(
        KEY, {"uprn": "household_pid"}, src, dst, source="police", overwrite=True, **kw
    )
    return result, dst


def test_pseudonymise_writes_tokens_under_the_linkage_key_and_no_raw_value(tmp_path):
    result, dst = _run(tmp_path)
    out = pl.read_csv(dst, infer_schema=False)
    assert tuple(out.columns) == SOURCES["police"].columns  # the base columns, then the tokens
    assert set(result.tokens) | {"token_version"} == set(SOURCES["police"].tokens)
    assert out["token_version"].to_list() == [TOKEN_VERSION] * 3
    made = make_tokens(_Hmac(LINK), {v: pl.Series(POLICE_RAW[k]) for k, v in TOKENS.items()})
    for column, values in made.items():
        assert out[column].to_list() == values.to_list(), column
    # the identifier key made none of them, the linkage key none of the pseudonyms
    under_id_key = make_tokens(_Hmac(KEY), {"surname": pl.Series(POLICE_RAW["last_name"])})
    assert set(under_id_key["family_token"]).isdisjoint(out["family_token"])
    text = dst.read_text()
    for column in TOKENS:
        for value in POLICE_RAW[column]:
            for part in [value, *re.split(r"[ ,/-]+", value)]:
                # a part of hex digits only ("1AA", "12") can occur inside a token by chance
                if len(part) > 2 and not re.fullmatch(r"[0-9a-fA-F]+", part):
                    assert part.lower() not in text.lower(), part
    assert "100012345678" not in text


def test_the_linkage_key_must_be_given_and_must_not_be_the_identifier_key(tmp_path):
    with pytest.raises(PseudonymiseError, match="linkage key is the pseudonymisation key"):
        _run(tmp_path, linkage_key=KEY)
    with pytest.raises(PseudonymiseError, match="Tokens need the linkage key"):
        _run(tmp_path, linkage_key=None)
    with pytest.raises(PseudonymiseError, match="declares no given_token"):
        src = tmp_path / "fire_raw.csv"
        fire = {"record_id": ["FR000001"], "event_date": ["2025-01-02"], "forename": ["Ann"]}
        fire["household_pid"] = ["ab" * 32]
        pl.DataFrame({**fire, "event_type": ["FALSE_ALARM"]}).write_csv(src)
        pseudonymise_file(
            KEY,
            {},
            src,
            tmp_path / "f.csv",
            source="fire",
            tokens={"forename": "forename"},
            linkage_key=LINK,
        )
    with pytest.raises(PseudonymiseError, match="not something tokens are made of"):
        _run(tmp_path, tokens={"first_name": "nickname"})
    assert not (tmp_path / "out.csv").exists()


def test_cli_reads_the_linkage_key_from_its_own_file_and_never_prints_it(tmp_path, monkeypatch):
    from hearth.cli.app import app

    monkeypatch.delenv("HEARTH_PSEUDONYMISATION_KEY", raising=False)
    monkeypatch.delenv("HEARTH_LINKAGE_KEY", raising=False)
    src = tmp_path / "police_raw.csv"
    pl.DataFrame(POLICE_RAW).write_csv(src)
    key_file, link_file = tmp_path / "id.key", tmp_path / "link.key"
    key_file.write_bytes(KEY)
    link_file.write_bytes(LINK)
    key_file.chmod(0o600)
    link_file.chmod(0o600)
    tokens = ",".join(f"{k}:{v}" for k, v in TOKENS.items())
    args = ["pseudonymise", "--source", "police", "--key-file", str(key_file)]
    args += ["--columns", "uprn:household_pid", "--tokens", tokens]
    result = CliRunner().invoke(app, [*args, str(src), str(tmp_path / "o.csv")])
    assert result.exit_code != 0 and "No linkage key" in result.output
    result = CliRunner().invoke(
        app, [*args, "--linkage-key-file", str(link_file), str(src), str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "token columns under the linkage key" in result.output
    assert LINK.decode() not in result.output and KEY.decode() not in result.output
    assert "given_token" in (tmp_path / "o.csv").read_text().splitlines()[0]


def test_the_readme_tokens_example_runs_as_written(tmp_path, monkeypatch):
    """The README's `--tokens` command, with a raw police export of its column names."""
    from hearth.cli.app import app

    monkeypatch.delenv("HEARTH_PSEUDONYMISATION_KEY", raising=False)
    monkeypatch.delenv("HEARTH_LINKAGE_KEY", raising=False)
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    (command,) = re.findall(
        r"hearth pseudonymise (--source police[^`]*?--tokens[^`]*?)\n```", readme
    )
    args = command.replace("\\\n", " ").split()
    monkeypatch.chdir(tmp_path)
    for name, key in (("shared.key", KEY), ("linkage.key", LINK)):
        (tmp_path / name).write_bytes(key)
        (tmp_path / name).chmod(0o600)
    raw = dict(POLICE_RAW)
    raw["address"] = raw.pop("address_line")  # the README's name for the address line
    pl.DataFrame(raw).write_csv(tmp_path / args[-2])
    result = CliRunner().invoke(app, ["pseudonymise", *args])
    assert result.exit_code == 0, result.output
    out = pl.read_csv(tmp_path / args[-1], infer_schema=False)
    assert out["family_token"].null_count() == 0 and out["premise_token"].null_count() == 0
    assert "Zo" not in (tmp_path / args[-1]).read_text()
