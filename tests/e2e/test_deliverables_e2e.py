"""What commissioners and partner agencies receive, from one real run of the pipeline on the
small synthetic world (with a capacity file in HEARTH_HOME): the workbook, the role views,
visit plans, re-identification with its audit, and report.html driven in the system Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from html import escape
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from typer.testing import CliRunner

from hearth.features.catalogue import load_catalogue
from hearth.features.wording import ANOTHER_AGENCY, readable_by
from hearth.modelling.scoring.ranking import ROLE_REASONS
from hearth.modelling.scoring.reasons import also_words
from hearth.publish.ranked import COLUMN_LABELS, TIERS
from hearth.publish.report import TOP_COLUMNS
from hearth.publish.roles import OTHER_AGENCY, REASONS, visible_columns
from hearth.quality.contracts import ROLES
from hearth.sources import SOURCES
from hearth.suppression import headline, is_disclosive
from tests.conftest import SMALL_HOUSEHOLDS
from tests.support.environment import clear_hearth
from tests.support.first_runs import private_small_world_first_run

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SEED = 11  # the small world's seed (tests/conftest.py)
CAT = load_catalogue()


def _point_at(mp: pytest.MonkeyPatch, home: Path) -> None:
    clear_hearth(mp, HEARTH_HOME=str(home))


# Session-scoped: under xdist other modules' tests run between these in the same worker, which
# would tear a module-scoped run down and make it again. The run is the small world's first run
# (made once per session with umask 022 and docs/capacity.example.yaml in the home, shared with
# test_pipeline_e2e.py: tests/support/first_runs.py); this file works on its own copy. The
# environment and umask are set for each test by `run`.
@pytest.fixture(scope="session")
def delivered(small_world, tmp_path_factory):
    made = private_small_world_first_run(
        tmp_path_factory, small_world, tmp_path_factory.mktemp("deliver")
    )
    home, outcome, lines = made.home, made.outcome, made.lines
    assert outcome.success, outcome.problems
    folder = outcome.output_folder
    ranked = pl.read_parquet(folder / "ranked_households.parquet")
    summary = json.loads((folder / "run_summary.json").read_text())
    top = ranked.filter(pl.col("risk_tier").is_in(["very high", "high"])).sort("rank")
    return SimpleNamespace(
        home=home, folder=folder, ranked=ranked, summary=summary, top=top, lines=lines
    )


@pytest.fixture
def run(delivered, monkeypatch):
    """The delivered run, with HEARTH_HOME pointing at it for this test."""
    _point_at(monkeypatch, delivered.home)
    umask = os.umask(0o022)
    yield delivered
    os.umask(umask)


def _cli(*args: str, env: dict | None = None):
    from hearth.cli.app import app

    return CliRunner().invoke(app, list(args), env=env)


def test_publish_step_writes_everything(run):
    f = run.folder
    for name in (
        "ranked_households.xlsx",
        "report.html",
        "model/model_card.md",
        "model/calibration.png",
        "model/fairness.csv",
        "model/sharing.csv",
        "plans/plan_summary.json",
    ):
        assert (f / name).is_file(), name
    for role in ROLES:
        assert (f / "roles" / role / "ranked_households.csv").is_file()
        assert (f / "roles" / role / "ranked_households.xlsx").is_file()
    assert not [p for p in f.parent.iterdir() if p.name.startswith((".tmp-", ".old-"))]
    assert run.top.height == SMALL_HOUSEHOLDS // 20  # the published top: the top two tiers


def test_workbook_opens_with_the_right_sheets(run):
    from openpyxl import load_workbook

    wb = load_workbook(run.folder / "ranked_households.xlsx")
    las = sorted(run.top["la_name"].unique().to_list())  # sheets named by the areas' names
    assert wb.sheetnames == ["About this list", "Areas", *las]
    assert not set(las) & set(run.top["la_code"])
    cover = "\n".join(str(c) for row in wb["About this list"].values for c in row if c)
    assert run.summary["as_of"] in cover
    assert f"version {run.summary['model']['version']}" in cover
    assert "must not be used for" in cover and "ranked_households.csv" in cover
    assert "top 5%" in cover
    labels = [COLUMN_LABELS[c] for c in visible_columns("commissioner")]
    seen: list[str] = []
    for la in las:
        ws = wb[la]
        rows = list(ws.values)
        assert list(rows[0]) == labels
        assert ws.freeze_panes == "C2" and ws.auto_filter.ref.startswith("A1:")
        body = rows[1:]
        expected = run.top.filter(pl.col("la_name") == la)
        assert [r[0] for r in body] == expected["rank"].to_list()
        assert {r[labels.index(COLUMN_LABELS["la_name"])] for r in body} == {la}
        score_cell = ws.cell(row=2, column=labels.index(COLUMN_LABELS["score"]) + 1)
        assert score_cell.number_format == "0.0%" and 0 < score_cell.value <= 1
        tier_col = labels.index(COLUMN_LABELS["risk_tier"]) + 1
        for r in range(2, len(rows) + 1):
            cell = ws.cell(row=r, column=tier_col)
            if cell.number_format == '"very high"':  # tier 1, shown in words, sorts first
                assert cell.value == 1 and cell.fill.fgColor.rgb.endswith("9B1C1C")
        seen += [r[1] for r in body]
    assert sorted(seen) == sorted(run.top["household_pid"].to_list())


def test_no_aggregate_cell_shows_a_count_from_1_to_7(run):
    from openpyxl import load_workbook

    for path in [
        run.folder / "ranked_households.xlsx",
        *(run.folder / "roles").glob("*/ranked_households.xlsx"),
    ]:
        wb = load_workbook(path, read_only=True)
        for sheet in ("About this list", "Areas"):
            for row in wb[sheet].iter_rows(values_only=True):
                for value in row:
                    if value is not None:
                        assert not is_disclosive(str(value)), (path, sheet, value)
        areas = list(wb["Areas"].iter_rows(values_only=True))
        assert areas[0][4:] == ("Households", "High-risk households")
        assert any(r[5] == "*" for r in areas[1:])  # the small world has small wards
        assert all(isinstance(v, int) or v == "*" for r in areas[1:] for v in r[4:])
        wb.close()
    html = (run.folder / "report.html").read_text()
    cells = re.findall(r'<span class="agg">([^<]*)</span>', html)
    assert len(cells) > 100 and "*" in cells
    assert not [c for c in cells if is_disclosive(c)]

    # rows of extracts are shown exactly and add up; no literal backtick; names beside codes
    table = re.search(r'id="source-table".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        received, accepted, quarantined = (int(c.replace(",", "")) for c in cells[2:5])
        source = run.summary["sources"][cells[0].replace(" ", "_")]
        assert (received, accepted, quarantined) == (
            source["rows_received"],
            source["rows_accepted"],
            source["rows_quarantined"],
        )
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S))
    assert "`" not in text
    la = run.top.row(0, named=True)
    assert escape(f"{la['la_name']} ({la['la_code']})") in html


def _expected_view(ranked: pl.DataFrame, role: str) -> pl.DataFrame:
    """The role's view from what the scorer kept: each household's reasons for this role (on
    features it may read), "other agency information" once where it may read none of them,
    and the lead and its why as the role may read them."""
    rows = []
    for r in ranked.iter_rows(named=True):
        out = {c: r[c] for c in visible_columns(role)}
        entry = json.loads(r[ROLE_REASONS])[role]
        assert all(readable_by(CAT, f, role) for _, f in entry["reasons"]), role
        texts = [t for t, _ in entry["reasons"]][: len(REASONS)]
        if not texts and r["reason_1"] is not None:
            texts = [OTHER_AGENCY]
        for i, reason in enumerate(REASONS):
            out[reason] = texts[i] if i < len(texts) else None
        # the lead as the role may read it: the list's lead, or "another agency" with no why
        assert entry["lead"] in (r["lead_agency"], ANOTHER_AGENCY), role
        assert entry["lead"] != ANOTHER_AGENCY or entry["lead_why"] is None, role
        out["lead_agency"] = entry["lead"]
        out["lead_why"] = entry["lead_why"]
        if "also_agencies" in out:  # the other services, as the role may read them
            alsos = [(a or ANOTHER_AGENCY, why if a else None) for a, why in entry.get("also", [])]
            out["also_agencies"] = also_words(alsos)
        rows.append(out)
    return pl.DataFrame(rows, schema={c: ranked.schema[c] for c in visible_columns(role)})


def test_each_role_file_holds_only_what_the_role_may_see(run):
    from openpyxl import load_workbook

    assert run.top["lead_why"].null_count() == 0 and run.top["lead_agency"].null_count() == 0
    for role in ROLES:
        folder = run.folder / "roles" / role
        csv = pl.read_csv(
            folder / "ranked_households.csv",
            schema_overrides={
                c: pl.String
                for c in (*REASONS, "lead_agency", "lead_why", "la_code", "ward_code", "lsoa_code")
            },
        )
        assert csv.columns == visible_columns(role)
        expected = _expected_view(run.top, role)
        assert csv.drop("score").equals(expected.drop("score")), role
        assert (csv["score"] - expected["score"]).abs().max() < 1e-6
        # issue 16: a role sees reasons for (almost) every household, not "other agency"
        with_reason = csv.filter(
            pl.col("reason_1").is_not_null() & (pl.col("reason_1") != OTHER_AGENCY)
        )
        assert with_reason.height >= 0.8 * csv.height, (role, with_reason.height, csv.height)
        wb = load_workbook(folder / "ranked_households.xlsx", read_only=True)
        assert role.replace("_", " ") in str(next(wb["About this list"].values)[0])
        shown = set()
        at = [visible_columns(role).index(r) for r in REASONS]
        for la in wb.sheetnames[2:]:
            rows = list(wb[la].iter_rows(values_only=True))
            assert list(rows[0]) == [COLUMN_LABELS[c] for c in visible_columns(role)]
            for r in rows[1:]:
                shown.update(r[i] for i in at if r[i])
        wb.close()
        allowed_texts = set(csv.select(REASONS).unpivot()["value"].drop_nulls())
        assert shown <= allowed_texts
        # no reason built on a feature the role may not read, in any file of the role's folder
        readable = [f.name for f in CAT.features if readable_by(CAT, f.name, role)]
        hidden = (
            run.top.select(
                pl.concat_list(REASONS).alias("t"),
                pl.concat_list([f"{r}_feature" for r in REASONS]).alias("f"),
            )
            .explode("t", "f")
            .filter(~pl.col("f").is_in(readable))
        )
        leaked = set(hidden["t"].drop_nulls()) - allowed_texts
        text = (folder / "ranked_households.csv").read_text()
        assert not [t for t in leaked if t in text], role


def test_publish_role_command_rewrites_one_role(run):
    before = (run.folder / "roles" / "police" / "ranked_households.csv").stat().st_mtime_ns
    result = _cli("publish", "--role", "fire", "--top", "20")
    assert result.exit_code == 0, result.output
    fire = pl.read_csv(run.folder / "roles" / "fire" / "ranked_households.csv")
    assert fire["rank"].to_list() == list(range(1, 21))
    assert (run.folder / "roles" / "police" / "ranked_households.csv").stat().st_mtime_ns == before
    assert _cli("publish", "--role", "fire").exit_code == 0  # back to the default top
    assert pl.read_csv(run.folder / "roles" / "fire" / "ranked_households.csv").height == (
        run.top.height
    )
    bad = _cli("publish", "--role", "press")
    assert bad.exit_code == 2 and "Unknown role" in bad.output


def test_publish_a_longer_top_than_the_run_explained(run):
    """The run explains as far as its outputs show (the report's first 500 of 2,000); a top of
    1,500 is explained then, from the registry's version that scored it and the month's kept
    features, so every row of the role's file has its words."""
    explained = run.ranked.filter(pl.col("reason_1").is_not_null())["rank"]
    assert explained.to_list() == list(range(1, 501))
    result = _cli("publish", "--role", "fire", "--top", "1500")
    assert result.exit_code == 0, result.output
    assert "Explaining 1,000 households beyond the ranks the run explained" in result.output
    fire = pl.read_csv(run.folder / "roles" / "fire" / "ranked_households.csv")
    assert fire["rank"].to_list() == list(range(1, 1501))
    assert fire["lead_agency"].null_count() == 0 and fire["reason_1"].null_count() == 0
    assert _cli("publish", "--role", "fire").exit_code == 0  # back to the default top


def test_visit_plans_send_each_household_to_one_team(run):
    plan = json.loads((run.folder / "plans" / "plan_summary.json").read_text())
    assert plan["households_considered"] == run.top.height
    everyone: list[str] = []
    agency_of: list[tuple[str, str]] = []
    for team in plan["teams"]:
        frame = pl.read_csv(run.folder / team["file"])
        assert frame.height == team["planned"] <= team["visits_per_month"]
        assert frame.columns == ["visit_order", "team", *visible_columns(team["agency"])]
        assert frame["rank"].is_sorted()
        if team["planned"]:
            assert abs(frame["score"].mean() - team["expected_precision"]) < 1e-3
        everyone += frame["household_pid"].to_list()
        agency_of += [(team["agency"], h) for h in frame["household_pid"]]
        assert (run.folder / team["file"]).with_suffix(".xlsx").is_file()
    # a household goes to at most one team of each agency: its lead's, and one of each agency
    # that is "also" for it (hearth/publish/capacity.py)
    assert len(everyone) == plan["households_planned"]
    assert len(agency_of) == len(set(agency_of))
    assert len(set(everyone)) < len(everyone) or not any(
        t["also_for_this_agency"] for t in plan["teams"]
    )
    assert set(everyone) <= set(run.top["household_pid"])
    html = (run.folder / "report.html").read_text()
    assert 'id="plan-table"' in html
    assert all(escape(t["team"]) in html for t in plan["teams"])
    again = _cli("plan", "--capacity", str(ROOT / "docs" / "capacity.example.yaml"))
    assert again.exit_code == 0, again.output
    replanned = json.loads((run.folder / "plans" / "plan_summary.json").read_text())
    assert replanned.pop("capacity_file") == "capacity.example.yaml"
    assert replanned == {k: v for k, v in plan.items() if k != "capacity_file"}


def _raw_ids(households: int):
    from hearth.synth.ids import nhs_numbers, synthetic_key, uprns

    return synthetic_key(SEED), nhs_numbers(80, SEED), uprns(households, SEED)


def test_reidentify_returns_known_households_audits_and_never_leaks_the_key(run, tmp_path):
    from hearth.privacy.pseudonymise import hmac_hex

    key, nhs, uprn = _raw_ids(SMALL_HOUSEHOLDS)
    agency = tmp_path / "agency"
    agency.mkdir()
    key_file = agency / "shared.key"
    key_file.write_bytes(key + b"\n")
    key_file.chmod(
        0o600
    )  # a key others could read is refused (tests/unit/privacy/test_pseudonymise.py)
    spaced = [f"{n // 10**7:03d} {n // 10**4 % 1000:03d} {n % 10**4:04d}" for n in nhs.tolist()]
    pl.DataFrame({"nhs_number": [*spaced, "", "0000000000"]}).write_csv(agency / "clients.csv")
    top_pids = set(run.top["household_pid"])
    known = [
        str(u)
        for u, p in zip(uprn.tolist(), hmac_hex(key, map(str, uprn.tolist())), strict=True)
        if p in top_pids
    ][:15]
    pl.DataFrame({"uprn": [*known, "123456789012"]}).write_csv(agency / "homes.csv")

    env_key = key.hex()  # another key, given by environment variable instead of a file
    outputs = []
    health = _cli(
        "reidentify",
        "--key-file",
        str(key_file),
        "--clients",
        str(agency / "clients.csv"),
        "--id-column",
        "nhs_number",
        "--role",
        "health",
    )
    outputs.append(health.output)
    assert health.exit_code == 0, health.output
    out = agency / f"clients_hearth_health_{run.summary['as_of']}.csv"  # the role's own file
    got = pl.read_csv(out, schema_overrides={"nhs_number": pl.String})
    assert got.columns == ["nhs_number", *visible_columns("health")]
    assert got.height > 40 and set(got["nhs_number"]) <= set(spaced)
    assert set(got["household_pid"]) <= set(run.ranked["household_pid"])
    assert got["rank"].is_sorted()

    fire = _cli(
        "reidentify",
        "--key-file",
        str(key_file),
        "--clients",
        str(agency / "homes.csv"),
        "--id-column",
        "uprn",
        "--role",
        "fire",
        "--out",
        str(agency / "fire.csv"),
    )
    outputs.append(fire.output)
    assert fire.exit_code == 0, fire.output
    got = pl.read_csv(agency / "fire.csv", schema_overrides={"uprn": pl.String})
    assert sorted(got["uprn"]) == sorted(known)
    expected = _expected_view(run.top, "fire").filter(
        pl.col("household_pid").is_in(got["household_pid"].to_list())
    )
    assert set(got.drop("uprn", "score").rows()) == set(expected.drop("score").rows())
    # fire may not match people: NHS numbers find nothing for it, and it is told why
    nobody = _cli(
        "reidentify",
        "--key-file",
        str(key_file),
        "--clients",
        str(agency / "clients.csv"),
        "--id-column",
        "nhs_number",
        "--role",
        "fire",
        "--out",
        str(agency / "fire_people.csv"),
    )
    outputs.append(nobody.output)
    assert nobody.exit_code == 2 and "the fire role matches UPRNs only" in nobody.output
    assert not (agency / "fire_people.csv").exists()
    # refusals: an output inside HEARTH_HOME, a short key; neither writes or shows the key
    inside = _cli(
        "reidentify",
        "--key-file",
        str(key_file),
        "--clients",
        str(agency / "clients.csv"),
        "--id-column",
        "nhs_number",
        "--role",
        "health",
        "--out",
        str(run.home / "clients_out.csv"),
    )
    outputs.append(inside.output)
    assert inside.exit_code == 2 and "inside HEARTH_HOME" in inside.output
    assert not (run.home / "clients_out.csv").exists()
    (agency / "short.key").write_bytes(b"0123")
    (agency / "short.key").chmod(0o600)
    short = _cli(
        "reidentify",
        "--key-file",
        str(agency / "short.key"),
        "--clients",
        str(agency / "clients.csv"),
        "--id-column",
        "nhs_number",
        "--role",
        "health",
    )
    outputs.append(short.output)
    assert short.exit_code == 2 and "too short" in short.output
    by_env = _cli(
        "reidentify",
        "--clients",
        str(agency / "homes.csv"),
        "--id-column",
        "uprn",
        "--role",
        "police",
        "--out",
        str(agency / "police.csv"),
        env={"HEARTH_PSEUDONYMISATION_KEY": env_key},
    )
    outputs.append(by_env.output)  # another key: nothing it hashes is known to Hearth
    assert by_env.exit_code == 2 and "the key is probably not the one" in by_env.output
    assert "None of the 16 identifiers in column 'uprn'" in by_env.output
    assert not (agency / "police.csv").exists()
    again = _cli(  # the health list again: its file exists, so it is not replaced unasked
        "reidentify",
        "--key-file",
        str(key_file),
        "--clients",
        str(agency / "clients.csv"),
        "--id-column",
        "nhs_number",
        "--role",
        "health",
    )
    outputs.append(again.output)
    assert again.exit_code == 2 and "already exists; nothing was written" in again.output

    audit = _cli("audit")
    outputs.append(audit.output)
    assert audit.exit_code == 0
    from hearth.privacy.access import os_user
    from hearth.privacy.reidentify import audit_entries

    entries = audit_entries()
    assert {e["action"] for e in entries} == {"reidentify", "refused"}
    # every use is audited, with the OS user; the refused ones handed nothing out
    used = sorted((e["action"], e["role"]) for e in entries)
    expected = [("refused", "fire"), ("refused", "police"), ("reidentify", "fire")]
    assert used == [*expected, ("reidentify", "health")]
    assert {e["os_user"] for e in entries} == {os_user()}
    assert os_user() in audit.output
    (health_row,) = [e for e in entries if e["role"] == "health" and e["action"] == "reidentify"]
    assert health_row["clients"] == len(spaced) + 1  # the empty identifier is not a client
    assert 40 < health_row["matched"] <= len(spaced)
    assert health_row["run_as_of"] == run.summary["as_of"]
    assert "health" in audit.output and run.summary["as_of"] in audit.output

    # the key, in any spelling, is in no output, message or file Hearth keeps; nor are the
    # agency's raw identifiers
    secrets = [key, key.hex().encode(), base64.b64encode(key), env_key.encode()]
    raw = [s.encode() for s in spaced[:20]] + [str(n).encode() for n in nhs.tolist()[:20]]
    for text in outputs:
        assert not any(s in text.encode() for s in secrets)
    for path in [*run.home.rglob("*"), *agency.glob("*_hearth_*.csv"), agency / "fire.csv"]:
        if path.is_file():
            data = path.read_bytes()
            assert not any(s in data for s in secrets), path
            if run.home in path.parents:
                assert not any(r in data for r in raw), path
    assert not any(any(s.decode("latin-1") in line for s in secrets) for line in run.lines)


def test_everything_the_run_keeps_is_its_owners_only(run):
    """The warehouse, MLflow's store, Dagster's storage, the outputs and every role's file:
    folders 0700, files 0600, although the run started with umask 022."""
    assert stat.S_IMODE(run.home.stat().st_mode) == 0o700
    kept = [
        p
        for p in run.home.rglob("*")
        if not p.is_symlink() and p.name != "capacity.yaml"  # the test's own copy
    ]
    for must in ("warehouse.duckdb", "mlflow.db", "dagster", "last_run.json", "mlartifacts"):
        assert run.home / must in kept, must
    assert any(p.parent.name == "police" and p.parent.parent.name == "roles" for p in kept)
    assert any(p.name == "ranked_households.xlsx" for p in kept)
    loose = [f"{p} {stat.S_IMODE(p.stat().st_mode):04o}" for p in kept if p.stat().st_mode & 0o077]
    assert not loose


def test_reidentify_works_while_another_process_reads_the_warehouse(run, tmp_path):
    """Before, the audit row was written into the warehouse and failed with DuckDB's lock
    (IOException) while any other process had it open; now the warehouse is only read."""
    import subprocess
    import sys

    import duckdb

    key, nhs, _ = _raw_ids(SMALL_HOUSEHOLDS)
    agency = tmp_path / "agency"
    agency.mkdir()
    (agency / "k").write_bytes(key)
    (agency / "k").chmod(0o600)
    pl.DataFrame({"nhs_number": [str(n) for n in nhs.tolist()]}).write_csv(agency / "c.csv")
    wh = run.home / "warehouse.duckdb"
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "con = duckdb.connect(sys.argv[1], read_only=True)\n"
            "con.execute('SELECT count(*) FROM raw_people').fetchall()\n"
            "print('reading', flush=True)\n"
            "time.sleep(120)\n",
            str(wh),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "reading"
        with pytest.raises(duckdb.IOException):  # a writer cannot open it now
            duckdb.connect(str(wh)).close()
        args = ["--key-file", str(agency / "k"), "--clients", str(agency / "c.csv")]
        result = _cli("reidentify", *args, "--id-column", "nhs_number", "--role", "health")
        assert result.exit_code == 0, result.output
        assert "clients matched" in result.output
    finally:
        reader.kill()
        reader.wait(timeout=30)
    from hearth.privacy.audit import entries, verify

    newest = entries()[-1]
    assert newest["role"] == "health" and newest["clients"] == len(nhs)
    assert verify().intact


def test_report_in_the_system_chromium(run, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: `make test` installs it (.ci/ensure-chromium)")
    from playwright.sync_api import sync_playwright

    report = run.folder / "report.html"
    url = report.resolve().as_uri()
    summary, ranked = run.summary, run.ranked.sort("rank")
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.on("request", lambda r: requests.append(r.url))
            page = context.new_page()
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(url, wait_until="load")

            # headline numbers are run_summary.json's
            n = summary["households_scored"]
            assert page.text_content("#hl-households") == headline(n)
            assert int(page.get_attribute("#hl-households", "data-value")) == n
            for tier, count in summary["risk_tiers"].items():
                sel = f"#hl-tier-{tier.replace(' ', '-')}"
                assert int(page.get_attribute(sel, "data-value")) == count
                assert page.text_content(sel) == headline(count)
            expected = ranked.head(1000)["score"].sum()
            assert abs(float(page.get_attribute("#hl-expected", "data-value")) - expected) < 1e-3
            assert page.text_content("#hl-expected") == f"{expected:,.0f}"
            aggs = page.locator(".agg").all_inner_texts()
            assert aggs and not [a for a in aggs if is_disclosive(a)]

            rows = page.locator("#top-table tbody tr")
            listed = min(500, n)
            assert rows.count() == min(25, listed)  # a page of households at a time
            pages = -(-listed // 25)
            assert page.text_content("#page-at") == f"Page 1 of {pages}"
            if pages > 1:
                page.click("#page-next")
                assert page.text_content("#top-table tbody td.g-rank") == "26"
                page.click("#page-first")

            # the search box: a ward from the list
            ward = ranked["ward_code"][0]
            page.fill("#search", ward)
            want = (
                ranked.head(500)
                .select(TOP_COLUMNS)
                .filter(
                    pl.concat_str(pl.all().cast(pl.String).fill_null(""), separator=" ")
                    .str.to_lowercase()
                    .str.contains(ward.lower(), literal=True)
                )
                .height
            )
            assert rows.count() == min(want, 25) and want > 0
            areas = page.locator("#top-table tbody td.g-area").all_inner_texts()
            assert all(ward in a for a in areas)
            found = "" if want == listed else f" found (of {listed})"
            assert page.text_content("#shown") == f"showing 1\u2013{min(want, 25)} of {want}{found}"
            page.fill("#search", "no such household anywhere")
            assert rows.count() == 0
            page.fill("#search", "")

            # sorting: rank descending, then score descending and ascending
            page.click("#top-table thead th.g-rank button")
            assert page.get_attribute("#top-table thead th.g-rank", "aria-sort") == "descending"
            assert page.text_content("#top-table tbody tr:first-child td.g-rank") == str(listed)
            page.click("#top-table thead th.g-score button")
            page.click("#top-table thead th.g-score button")
            assert page.get_attribute("#top-table thead th.g-score", "aria-sort") == "ascending"
            shown = [
                float(s.rstrip("%"))
                for s in page.locator("#top-table tbody td.g-score").all_inner_texts()
            ]
            assert shown == sorted(shown) and len(shown) == min(25, listed)
            # risk tier sorts in risk order, not alphabetically
            page.select_option("#page-size", "100")
            page.click("#top-table thead th.g-tier button")
            tiers = page.locator("#top-table tbody td.g-tier").all_inner_texts()
            order = [t for t in TIERS if t in tiers]
            assert [t for i, t in enumerate(tiers) if i == 0 or tiers[i - 1] != t] == order

            # every word of "why this lead" shows; the sort buttons show the keyboard's focus
            cut = page.evaluate(
                "() => [...document.querySelectorAll('#top-table td')]"
                ".filter(td => td.scrollWidth > td.clientWidth + 1).length"
            )
            assert cut == 0
            page.focus("#search")
            page.keyboard.press("Tab")
            outline = page.evaluate(
                "() => [document.activeElement.matches(':focus-visible'),"
                " getComputedStyle(document.activeElement).outlineStyle]"
            )
            assert outline[0] and outline[1] != "none", outline
            # every chart is an image with a name (or a picture with words in its alt text)
            named = page.evaluate(
                "() => [...document.querySelectorAll('svg.chart, figure img')].map(e =>"
                " e.tagName === 'svg' ? (e.getAttribute('role') === 'img' &&"
                " e.getAttribute('aria-label')) || '' : e.getAttribute('alt') || '')"
            )
            assert len(named) >= 3 and all(len(x) > 20 for x in named), named

            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    assert not problems, problems
    assert requests and all(r == url or r.startswith("data:") for r in requests), requests


def test_dpia_writes_the_evidence_pack_of_the_published_list(run, tmp_path):
    """`hearth dpia` on the published home: one page and its CSVs, each section from where it
    lives (contracts, warehouse, audit, the published model folder)."""
    import csv as csv_module

    from hearth.privacy.audit import verify
    from hearth.privacy.dpia import role_table

    pack = tmp_path / "pack"
    result = _cli("dpia", "--out", str(pack))
    assert result.exit_code == 0, result.output
    assert f"published as of {run.summary['as_of']}" in result.output

    def rows(name: str) -> list[dict]:
        return list(csv_module.DictReader((pack / name).read_text().splitlines()))

    expected = {
        "index.html",
        "roles_by_column.csv",
        "retention.csv",
        "retention_last_run.csv",
        "withheld.csv",
        "suppression.csv",
        "audit.txt",
        "model_card.md",
        "fairness.csv",
        "sharing.csv",
        "linkage.csv",
        "linkage_calibration.csv",
    }
    assert {p.name for p in pack.iterdir()} == expected
    assert rows("roles_by_column.csv") == role_table()
    status = {r["source"]: r for r in rows("retention.csv")}
    assert set(status) == set(SOURCES)  # every source, interventions (not yet sent) too
    assert all(  # six years for the agencies' records, four for the offers (their contracts)
        r["within_retention"] == "True"
        and r["retention_months"] == ("48" if source == "interventions" else "72")
        for source, r in status.items()
    )
    # every quarantined row of the run is counted, by source
    withheld = rows("withheld.csv")
    for source, s in run.summary["sources"].items():
        held = sum(int(w["rows_quarantined"]) for w in withheld if w["source"] == source)
        assert held == s["rows_quarantined"], source
    # the audit as `hearth audit --verify` sees it, and the published model's own files
    check = verify()
    audit = (pack / "audit.txt").read_text()
    assert ("intact" in audit) == check.intact and f"{check.entries} entries" in audit
    model = run.folder / "model"
    for name in ("model_card.md", "fairness.csv", "sharing.csv"):
        assert (pack / name).read_bytes() == (model / name).read_bytes(), name
    assert "precision_low" in (pack / "fairness.csv").read_text()
    page = (pack / "index.html").read_text()
    assert 'id="summary"' in page and "Model card of the champion" in page
    assert "Value of sharing" in page and "Fairness by group" in page
    # a world whose agencies share keys: no link rests on a probability, and the pack says so
    assert "Linking records that share no key" in page and rows("linkage.csv") == []
    assert "no record was linked by probability" in result.output
    # an existing pack is replaced only when asked
    again = _cli("dpia", "--out", str(pack))
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert _cli("dpia", "--out", str(pack), "--overwrite").exit_code == 0
    # by default beside the outputs, in HEARTH_HOME/dpia/<as_of>/, owner-only like the rest
    assert _cli("dpia").exit_code == 0
    default = run.home / "dpia" / run.summary["as_of"]
    assert (default / "index.html").is_file()
    assert all(not p.stat().st_mode & 0o077 for p in default.iterdir())
