"""Pseudonymisation: keyed, deterministic, normalised, and the key never leaks."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

import polars as pl
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from hearth.cli.pseudonymise import parse_columns, pseudonymise_command
from hearth.privacy.pseudonymise import (
    PseudonymiseError,
    SecretKey,
    hmac_hex,
    normalise,
    read_key,
)
from tests.unit.privacy.contract_helpers import column, contract_of, pseudonymise_file

KEY_TEXT = "test-key-NOT-REAL-8c1f0e2a9b7d4c3e"
KEY = KEY_TEXT.encode()
OTHER_KEY = b"another-test-key-0123456789abcdef"
HEX64 = re.compile(r"[0-9a-f]{64}")
SCIENTIFIC = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")


def private_key_file(path, data: bytes):
    """A key file as partners keep it: readable by its owner only."""
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def reference(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def test_hmac_hex_is_keyed_sha256_hex():
    (out,) = hmac_hex(KEY, ["9434765919"])
    assert out == reference(KEY, "9434765919")
    assert HEX64.fullmatch(out)
    assert hmac_hex(KEY, ["9434765919"]) == [out]  # deterministic
    assert hmac_hex(OTHER_KEY, ["9434765919"]) != [out]  # key-dependent
    long_key = b"k" * 100  # longer than SHA-256's block: hashed first, as RFC 2104 says
    assert hmac_hex(long_key, ["x"]) == [reference(long_key, "x")]


def test_spaces_normalised_and_empty_stays_none():
    a, b, c, d, e, f = hmac_hex(
        KEY, ["943 476 5919", " 9434765919\t", "9434765919", None, "", "  "]
    )
    assert a == b == c
    assert d is e is f is None
    assert normalise(100023336956) == "100023336956"


# A value of digits grouped by dashes or with a zero decimal part is the number it writes.
NUMBER_FORM = re.compile(r"[0-9]+(?:[-\u2010-\u2014\u2212][0-9]+)+|[0-9]+\.0+")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=20), st.from_regex(NUMBER_FORM, fullmatch=True)),
        max_size=20,
    )
)
def test_hmac_hex_property(values):
    refused = (SCIENTIFIC, HEX64)  # lost digits, or already a pseudonym: tested elsewhere
    values = [
        v for v in values if v is None or not any(r.fullmatch("".join(v.split())) for r in refused)
    ]
    out = hmac_hex(KEY, values)
    assert len(out) == len(values)
    for v, h in zip(values, out, strict=True):
        text = None if v is None else "".join(v.split())
        if not text:
            assert h is None
            continue
        if NUMBER_FORM.fullmatch(text):  # the digits alone, before any decimal point
            text = re.sub(r"[^0-9]", "", text.split(".")[0])
        assert h == reference(KEY, text) and HEX64.fullmatch(h)
        assert hmac_hex(KEY, [" ".join(text)]) == [h]  # inserted spaces change nothing


# --- the key ----------------------------------------------------------------------------------


def test_read_key_file_first_then_environment(tmp_path, monkeypatch):
    key_file = private_key_file(tmp_path / "key", KEY + b"\n")
    monkeypatch.setenv("HEARTH_PSEUDONYMISATION_KEY", OTHER_KEY.decode())
    assert read_key(key_file) == KEY  # file wins; trailing newline ignored
    assert read_key(None) == OTHER_KEY
    monkeypatch.setenv("OTHER_HEARTH_KEY_VAR", KEY_TEXT)
    assert read_key(None, env_var="OTHER_HEARTH_KEY_VAR") == KEY


def test_read_key_errors_are_plain_and_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("HEARTH_PSEUDONYMISATION_KEY", raising=False)
    with pytest.raises(PseudonymiseError, match="--key-file.*HEARTH_PSEUDONYMISATION_KEY"):
        read_key(None)
    with pytest.raises(PseudonymiseError, match="does not exist"):
        read_key(tmp_path / "missing")
    short = "short-key"
    monkeypatch.setenv("HEARTH_PSEUDONYMISATION_KEY", short)
    with pytest.raises(PseudonymiseError, match="at least 16 bytes") as err:
        read_key(None)
    assert short not in str(err.value) and short not in repr(err.value)
    private_key_file(tmp_path / "short", short.encode())
    with pytest.raises(PseudonymiseError, match="at least 16 bytes") as err:
        read_key(tmp_path / "short")
    assert short not in str(err.value)


def test_key_hidden_in_repr_and_str(tmp_path):
    private_key_file(tmp_path / "k", KEY)
    key = read_key(tmp_path / "k")
    assert isinstance(key, bytes) and key == KEY
    for shown in (repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr(SecretKey(KEY))):
        assert KEY_TEXT not in shown


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o644, 0o660, 0o666])
def test_a_key_file_others_could_read_or_change_is_refused_unread(tmp_path, mode, monkeypatch):
    key_file = private_key_file(tmp_path / "shared.key", KEY)
    key_file.chmod(mode)
    read = []
    real = type(key_file).read_bytes
    monkeypatch.setattr(type(key_file), "read_bytes", lambda p: read.append(p) or real(p))
    with pytest.raises(PseudonymiseError) as err:
        read_key(key_file)
    message = str(err.value)
    assert f"The key file {key_file} can be read or changed by" in message
    assert f"(mode {mode:04o})" in message and f"chmod 600 {key_file}" in message
    assert KEY_TEXT not in message and read == []  # refused before a byte was read
    key_file.chmod(0o600)
    assert read_key(key_file) == KEY
    key_file.chmod(0o400)
    assert read_key(key_file) == KEY


def test_pseudonymise_command_refuses_a_shared_key_file(tmp_path, capsys):
    key_file = private_key_file(tmp_path / "partner.key", KEY)
    key_file.chmod(0o644)
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(CSV)
    with pytest.raises(typer.Exit) as exit_:
        pseudonymise_command(key_file, "nhs_number", src, dst)
    assert exit_.value.exit_code == 2 and not dst.exists()
    err = capsys.readouterr().err
    assert "chmod 600" in err and KEY_TEXT not in err


# --- files ------------------------------------------------------------------------------------

NAMES = {"nhs_number": "person_pid", "uprn": "household_pid"}
CODES = ("007", "010")
CSV = (
    "nhs_number,uprn,note,code\n"
    "943 476 5919,100000000001,keep  spaces ,007\n"
    "9434765919,,x,\n"
    ',100000000002,"quoted, comma",010\n'
)


WITH_CODE = contract_of(column("person_pid"), column("household_pid"), column("code", CODES))


def test_csv_round_trip_keeps_the_contracts_other_columns_only(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(CSV)
    result = pseudonymise_file(KEY, NAMES, src, dst, source=WITH_CODE)
    assert result.rows == 3 and result.columns == ("nhs_number", "uprn")
    assert result.dropped == ("note",)  # the contract does not hold it
    before = pl.read_csv(src, infer_schema=False)
    after = pl.read_csv(dst, infer_schema=False)
    assert after.columns == ["person_pid", "household_pid", "code"]
    assert after.height == before.height
    assert after["code"].equals(before["code"])  # "007" kept
    nhs = after["person_pid"].to_list()
    assert nhs[0] == nhs[1] == reference(KEY, "9434765919") and nhs[2] is None
    assert after["household_pid"].to_list() == [
        *hmac_hex(KEY, ["100000000001", None, "100000000002"])
    ]
    assert result.distinct == {"nhs_number": 1, "uprn": 2}
    assert result.empty == {"nhs_number": 1, "uprn": 1}


def test_parquet_round_trip_keeps_types(tmp_path):
    src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
    df = pl.DataFrame(
        {
            "uprn": pl.Series([100000000001, None, 100000000001], dtype=pl.Int64),
            "nhs_number": ["943 476 5919", "9434765919", None],
            "birth_year": [1950, 1990, 2010],
            "seen": [dt.date(2024, 1, 1), None, dt.date(2025, 2, 3)],
            "score": [0.5, 1.25, None],
        }
    )
    df.write_parquet(src)
    typed = contract_of(
        column("household_pid"),
        column("person_pid"),
        column("birth_year", kind="integer"),
        column("seen", kind="date"),
        column("score", kind="number"),
    )
    renames = {"uprn": "household_pid", "nhs_number": "person_pid"}
    pseudonymise_file(KEY, renames, src, dst, source=typed)
    out = pl.read_parquet(dst)
    assert out.height == df.height
    assert out.columns == ["household_pid", "person_pid", "birth_year", "seen", "score"]
    assert out.drop("household_pid", "person_pid").equals(df.drop("uprn", "nhs_number"))
    assert out.schema["birth_year"] == pl.Int64 and out.schema["seen"] == pl.Date
    assert out["household_pid"].to_list() == hmac_hex(KEY, ["100000000001", None, "100000000001"])
    assert out["person_pid"].to_list()[:2] == [reference(KEY, "9434765919")] * 2


def test_csv_to_parquet(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "sub" / "out.parquet"
    src.write_text(CSV)
    pseudonymise_file(KEY, {"nhs_number": "person_pid"}, src, dst, source=WITH_CODE)
    assert pl.read_parquet(dst)["code"].to_list() == ["007", None, "010"]


def test_missing_column_names_file_and_column(tmp_path):
    src = tmp_path / "extract.csv"
    src.write_text(CSV)
    with pytest.raises(PseudonymiseError, match=r"Column 'nhs_no' is not in .*extract\.csv"):
        pseudonymise_file(KEY, ["nhs_no"], src, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("columns", "dst_name", "problem"),
    [
        (["score"], "out.parquet", "text or whole numbers"),
        (["uprn", "uprn"], "out.parquet", "more than once"),
        (["uprn"], "out.xlsx", "must end in .csv or .parquet"),
        (["uprn"], "in.parquet", "must not be the input"),
    ],
)
def test_other_errors(tmp_path, columns, dst_name, problem):
    src = tmp_path / "in.parquet"
    pl.DataFrame({"uprn": [1, 2], "score": [0.5, 1.5]}).write_parquet(src)
    with pytest.raises(PseudonymiseError, match=problem):
        pseudonymise_file(KEY, columns, src, tmp_path / dst_name)


# --- the key never leaks: files, exceptions, stdout/stderr ------------------------------------


POLICE_CSV = (
    "record_id,nhs_number,uprn,event_date,event_type,risk_level\n"
    "PL000000001,943 476 5919,100000000001,2025-03-14,ASB,\n"
    "PL000000002,9434765919,,2025-03-15,DOMESTIC_ABUSE,HIGH\n"
    "PL000000003,,100000000002,2025-03-16,ASB,\n"
)


def test_key_never_in_outputs_errors_or_console(tmp_path, monkeypatch, capsys):
    key_file = private_key_file(tmp_path / "partner.key", (KEY_TEXT + "\n").encode())
    monkeypatch.setenv("HEARTH_PSEUDONYMISATION_KEY", KEY_TEXT)
    src = tmp_path / "in.csv"
    src.write_text(POLICE_CSV)
    outputs = [tmp_path / "out.csv", tmp_path / "out.parquet"]
    for dst in outputs:
        result = pseudonymise_command(
            key_file, "nhs_number:person_pid,uprn:household_pid", src, dst, source="police"
        )
        assert KEY_TEXT not in repr(result)
    # the key from the environment; the unmapped UPRN is dropped, household_pid sent empty
    pseudonymise_command(
        None, ["nhs_number:person_pid"], src, tmp_path / "env.csv", source="police"
    )
    errors = []
    for args in [
        (key_file, "nope", src, tmp_path / "x.csv", False, "police"),
        (key_file, "uprn", tmp_path / "absent.csv", tmp_path / "x.csv"),
        (tmp_path / "absent.key", "uprn", src, tmp_path / "x.csv"),
    ]:
        with pytest.raises(typer.Exit) as err:
            pseudonymise_command(*args)
        assert err.value.exit_code == 2
        errors.append(err.value)
    captured = capsys.readouterr()
    assert (
        "Pseudonymised 2 columns (nhs_number -> person_pid, uprn -> household_pid) in 3 rows"
        in captured.out
    )
    assert captured.out.count("\n") == 3  # one line per run
    assert "Error: Column 'nope' is not in" in captured.err
    assert KEY_TEXT not in captured.out + captured.err
    for e in errors:
        assert KEY_TEXT not in str(e) + repr(e) + repr(e.__context__) + repr(e.__cause__)
    for path in [*outputs, tmp_path / "env.csv"]:
        data = path.read_bytes()
        assert KEY not in data and KEY.hex().encode() not in data
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_parse_columns():
    assert parse_columns("a, b,,c") == ["a", "b", "c"]
    assert parse_columns(["a,b", "c"]) == ["a", "b", "c"]
