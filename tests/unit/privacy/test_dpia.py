"""The DPO's page and evidence pack (hearth/privacy/dpia.py): the page's tables are the
contracts', the README leads to it, and `hearth dpia` refuses in a sentence where nothing has
been published (the pack itself, on a published home: tests/e2e/test_deliverables_e2e.py)."""

from __future__ import annotations

from typer.testing import CliRunner

from hearth.cli.app import app
from hearth.privacy.dpia import BEGIN, END, page_with_table, role_table, suppression_rows
from hearth.quality.contract_model import ROLES
from hearth.quality.contracts import load_all
from hearth.settings import PROJECT_ROOT

PAGE = PROJECT_ROOT / "docs" / "data-protection.md"


def test_the_dpo_page_shows_what_the_contracts_say():
    text = PAGE.read_text(encoding="utf-8")
    assert page_with_table(text) == text, (
        "docs/data-protection.md and the data contracts disagree: run "
        "`.venv/bin/python -m hearth.privacy.dpia docs/data-protection.md`"
    )
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    contracts = load_all()
    for source, c in contracts.items():
        assert f"| {source} | {c.retention} | `{c.retention_element}` |" in block
        for col in c.columns:
            marks = " | ".join("✔" if r in col.roles else "" for r in ROLES)
            assert f"| {source} | `{col.name}` | {col.classification or ''} | {marks} |" in block


def test_the_role_table_is_each_columns_contract_roles():
    rows = role_table()
    contracts = load_all()
    assert len(rows) == sum(len(c.columns) for c in contracts.values())
    for r in rows:
        roles = contracts[r["source"]].column(r["column"]).roles
        assert {role for role in ROLES if r[role] == "yes"} == set(roles)
    # e.g. commissioners never read a police risk level or a person pseudonym
    risk = next(r for r in rows if (r["source"], r["column"]) == ("police", "risk_level"))
    assert risk["commissioner"] == "" and risk["police"] == "yes"


def test_the_readme_leads_to_the_page():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "data protection" in readme.lower() and "docs/data-protection.md" in readme
    assert "hearth dpia" in readme


def test_suppression_examples_are_the_rule_applied():
    shown = {r["count"]: r["shown_in_area_tables_as"] for r in suppression_rows()}
    assert shown == {"0": "0", "1": "*", "7": "*", "8": "10", "12": "10", "13": "15", "102": "100"}


def test_dpia_says_what_to_do_when_nothing_is_published(hearth_home):
    result = CliRunner().invoke(app, ["dpia"])
    assert result.exit_code == 1
    assert "Nothing has been published" in result.output and "hearth run" in result.output
    assert "Traceback" not in result.output
