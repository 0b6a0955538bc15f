"""The privacy proof (issue 25): a world whose agencies hold the identifiers real ones do
(`hearth synth --agency-identifiers`: names, dates of birth, postcodes, NHS numbers for some,
UPRNs for some) is pseudonymised at the agencies, landed in its default place inside HEARTH_HOME
and run through the whole pipeline; then every file in the home and every table of every
database in it (the warehouse, Dagster's and MLflow's storage, every Parquet file and workbook)
is searched for the raw world's names, dates of birth, postcodes, address lines and
identifiers, read from the agencies' raw extracts, which are kept outside the home
(tests/support/home_scan.py says what is looked for and how).

The scan itself is shown to find a raw column kept in a table and a date of birth in a log
(`test_the_scan_finds_a_raw_column_kept`), so a clean home is a finding, not a blind spot. An
officer's review of uncertain links is audited and leaves no record id in the audit log, and
no published file carries a record id."""

from __future__ import annotations

import re
import shutil
import sqlite3
import zlib

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from hearth.cli.app import app
from hearth.cli.launch import run_pipeline
from tests.conftest import FAST_TRAINING
from tests.support.environment import clear_hearth
from tests.support.home_scan import first_of, own_words, raw_world, scan

HOUSEHOLDS = 1200
RECORD_ID = re.compile(r"\b(?:PL|HL|SC|FR)-?\d{6,9}\b")
# What is scanned is every file a run leaves, not the model's recipe: one quick candidate (and the
# baseline it is judged against), with the value-of-sharing table kept, so the home holds every
# kind of file a run writes (tests/conftest.py: QUICK_TRAINING drops that table as well).
TRAINING = {**FAST_TRAINING, "candidates": ["logistic"]}


@pytest.fixture(scope="module")
def agency_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    home = root / "home"
    home.mkdir()
    mp = pytest.MonkeyPatch()
    clear_hearth(mp, HEARTH_HOME=str(home))
    try:
        made = CliRunner().invoke(
            app,
            [
                "synth",
                *("--households", str(HOUSEHOLDS), "--seed", "13", "--agency-identifiers"),
                *("--out", str(home / "landing"), "--truth", str(root / "_truth")),
                *("--raw", str(root / "_raw")),
            ],
        )
        assert made.exit_code == 0, made.output
        outcome = run_pipeline(home / "landing", train_config=TRAINING)
        review = CliRunner().invoke(app, ["reidentify-links", "--role", "police", "--rank", "1"])
        # the DPO's evidence pack, in the home so the scans below read it too
        pack = CliRunner().invoke(app, ["dpia"])
        assert pack.exit_code == 0, pack.output
    finally:
        mp.undo()
    return root, home, outcome, review


def test_no_raw_value_anywhere_in_the_home(agency_home):
    root, home, outcome, _ = agency_home
    assert outcome.success, outcome.problems
    # the agencies' own identifiers were used: police sent tokens, not NHS numbers
    police = pl.read_csv(next((home / "landing" / "police").rglob("*.csv")), infer_schema=False)
    assert "given_token" in police.columns and "forename" not in police.columns
    world = raw_world(root / "_raw", home / "landing")
    assert len(world.names) > 200 and len(world.postcodes) > 50 and len(world.birth_dates) > 1000
    assert not (home / "_raw").exists()
    found = scan(home, world, own_words(home / "landing"))
    assert not found, f"{len(found)} raw values in the home: {first_of(found)}"


def test_uncertain_links_reach_no_published_file_and_their_review_is_audited(agency_home):
    _, home, outcome, review = agency_home
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ids = {r for (r,) in con.sql("SELECT record_id FROM linked_events").fetchall()}
        # token and address links carry their recalibrated probability: some below 1, none
        # below the 0.5 a best link needs to be linked at all
        (low,) = con.sql("SELECT min(link_probability) FROM linked_events").fetchall()[0]
    assert len(ids) > 1000 and 0.5 <= low < 1.0
    for path in (p for p in (home / "outputs").rglob("*") if p.is_file()):
        if path.suffix in (".csv", ".html", ".json", ".md", ".txt"):
            text = path.read_text(errors="replace")
            assert not (set(RECORD_ID.findall(text)) & ids), path
    assert review.exit_code == 0, review.output
    assert "linked with less than high confidence" in " ".join(review.output.split())
    audit = (home / "audit" / "log.jsonl").read_text()
    assert '"action":"uncertain_links"' in audit.replace(" ", "")
    assert not (set(RECORD_ID.findall(audit)) & ids)


def test_the_dpo_pack_shows_how_well_records_without_a_key_were_linked(agency_home):
    """The pack in the home (scanned above for raw values) carries the linkage evidence."""
    _, home, outcome, _ = agency_home
    (pack,) = (home / "dpia").iterdir()
    rows = pl.read_csv(pack / "linkage.csv", infer_schema=False)
    police = rows.filter(
        (pl.col("source") == "police") & (pl.col("link_probability_at_least") == "0.5")
    )
    # police hold no NHS number: checked for the right household on those that carry a UPRN
    assert police["checked_for"].to_list() == ["the right household"]
    assert all(float(p) > 0.9 for p in police["precision"])
    assert pl.read_csv(pack / "linkage_calibration.csv").height >= 20
    page = (pack / "index.html").read_text()
    assert "records arrived without an exact key" in page and "hearth reidentify-links" in page


def test_the_scan_finds_a_raw_column_kept(agency_home, tmp_path):
    """Break it on purpose: a copy of the home whose warehouse kept police's raw surname
    column, and a log with one date of birth as the agency wrote it."""
    root, home, _, _ = agency_home
    broken = tmp_path / "home"
    shutil.copytree(home, broken, symlinks=True)
    raw = pl.read_csv(next((root / "_raw" / "police").rglob("*.csv")), infer_schema=False)
    with duckdb.connect(str(broken / "warehouse.duckdb")) as con:
        kept = raw.select("record_id", "surname")  # noqa: F841 - read by DuckDB by name
        con.execute("CREATE TABLE kept_raw AS SELECT * FROM kept")
    dob = raw["date_of_birth"].drop_nulls()[0]
    (broken / "logs").mkdir(exist_ok=True)
    (broken / "logs" / "note.log").write_text(f"record with date of birth {dob}\n")
    world = raw_world(root / "_raw", home / "landing")
    allowed = own_words(home / "landing")
    # and a name inside a compressed blob, as Dagster stores its snapshots
    surname = next(n for n in raw["surname"].drop_nulls() if n.lower() in world.names - allowed)
    with sqlite3.connect(broken / "dagster" / "kept.db") as con:
        con.execute("CREATE TABLE snapshots (snapshot_body BLOB)")
        body = zlib.compress(f'{{"description": "{surname}"}}'.encode())
        con.execute("INSERT INTO snapshots VALUES (?)", (body,))
    found = scan(broken, world, allowed)
    where = {f.where.split(":")[-1] if f.what == "name" else f.what for f in found}
    assert "kept_raw.surname" in where and "date of birth" in where, first_of(found)
    assert any(f.where.endswith("kept.db:snapshots.snapshot_body") for f in found), first_of(found)
