"""Token columns at ingest (issue 25): an extract made by `hearth pseudonymise --tokens` loads
with its tokens; one without token columns loads too; a value in a token column that is not a
token refuses the extract, naming the column and never the value; a warehouse made before the
token columns gains them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from hearth.ingest.run import ingest_source
from hearth.privacy.pseudonymise import pseudonymise_file
from hearth.privacy.tokens import TOKEN_VERSION
from hearth.sources import SOURCES
from hearth.warehouse import connect

KEY = b"identifier-key-NOT-REAL-7d5b2f4a6c"
LINK = b"linkage-key-NOT-REAL-1e7d5b2f4a6c9"
MONTH = "2025-11"
N = 30
RAW = {
    "record_id": [f"PL{i:09d}" for i in range(1, N + 1)],
    "event_date": [f"2025-11-{1 + i % 28:02d}" for i in range(N)],
    "event_type": ["ASB"] * N,
    "risk_level": [None] * N,
    "forename": ["Aisha", "Bob", "Zoë"] * (N // 3),
    "surname": ["Khan", "McDonald", "Nowak"] * (N // 3),
    "dob": ["1980-05-14", "02/01/1975", "2001-12-11"] * (N // 3),
    "postcode": ["M1 1AE", "LS1 4AP", "SW1A 1AA"] * (N // 3),
}
TOKENS = {"forename": "forename", "surname": "surname", "dob": "date_of_birth"}
TOKENS["postcode"] = "postcode"


def _landing(tmp_path: Path, tokens: bool = True) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    raw = tmp_path / "police_raw.csv"
    pl.DataFrame(RAW).write_csv(raw)
    folder = tmp_path / "landing" / "police" / MONTH
    folder.mkdir(parents=True)
    dst = folder / f"police_{MONTH}.csv"
    kw = {"tokens": TOKENS, "linkage_key": LINK} if tokens else {}
    pseudonymise_file(KEY, {}, raw, dst, source="police", **kw)
    return tmp_path / "landing"


def test_an_extract_with_tokens_and_one_without_both_load(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        report = ingest_source(con, _landing(tmp_path), "police", [MONTH])
        assert [r.status for r in report.results] == ["loaded"], report.results[0].message
        rows = con.execute(
            "SELECT count(family_token), count(DISTINCT family_token), any_value(token_version)"
            " FROM raw_police"
        ).fetchone()
        assert rows == (N, 3, TOKEN_VERSION)
    with connect(tmp_path / "w2.duckdb") as con:
        report = ingest_source(con, _landing(tmp_path / "b", tokens=False), "police", [MONTH])
        assert [r.status for r in report.results] == ["loaded"]
        assert con.execute("SELECT count(family_token) FROM raw_police").fetchone() == (0,)


def test_a_value_in_a_token_column_that_is_not_a_token_refuses_the_extract(tmp_path):
    landing = _landing(tmp_path)
    path = landing / "police" / MONTH / f"police_{MONTH}.csv"
    df = pl.read_csv(path, infer_schema=False)
    df = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 4)
        .then(pl.lit("Khanzada"))
        .otherwise(pl.col("family_token"))
        .alias("family_token")
    )
    df.write_csv(path)
    with connect(tmp_path / "w.duckdb") as con:
        (result,) = ingest_source(con, landing, "police", [MONTH]).results
        assert result.status == "refused" and result.rule == "no_raw_identifiers"
        assert result.column == "family_token" and "1 value that is not a token" in result.message
        assert "Khanzada" not in result.message
        logged = con.execute("SELECT problems FROM ingest_log").fetchall()
        assert "Khanzada" not in str(logged)
        assert con.execute("SELECT count(*) FROM raw_police").fetchone() == (0,)


def test_a_warehouse_made_before_the_token_columns_gains_them(tmp_path):
    db = tmp_path / "old.duckdb"
    old = duckdb.connect(str(db))
    base = ", ".join(f"{c} VARCHAR" for c in SOURCES["police"].base_columns)
    old.execute(f"CREATE TABLE raw_police ({base}, _row_number BIGINT, _extract_month VARCHAR)")
    old.close()
    with connect(db) as con:
        report = ingest_source(con, _landing(tmp_path), "police", [MONTH])
        assert [r.status for r in report.results] == ["loaded"]
        got = con.execute(
            "SELECT count(*), count(birth_token), min(_extract_month) FROM raw_police"
        ).fetchone()
        assert got == (N, N, MONTH)
