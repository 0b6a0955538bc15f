"""An officer's review of a listed household's uncertain links (hearth/privacy/link_review.py,
`hearth reidentify-links`), on a tiny warehouse and a published list in a temporary
HEARTH_HOME: only links below high confidence, only from sources the role may review (the
contracts: record ids and linkage tokens stay with the sending agency), never a token, and
every review and refusal in the audit log, which holds no record id or pseudonym."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from hearth import settings
from hearth.cli.app import app
from hearth.privacy.audit import entries, log_path
from hearth.privacy.link_review import reviewable_sources, uncertain_links
from hearth.privacy.reidentify import ReidentifyError
from hearth.warehouse import connect
from tests.support.tiny_warehouse import add_fire_record, add_household, relink

H1, H2 = "1" * 64, "2" * 64
AS_OF = "2025-01"


def _police(con, record_id: str, household: str, when: date, arrived: str) -> None:
    con.execute(
        "INSERT INTO raw_police (record_id, household_pid, event_date, event_type, risk_level, "
        "_row_number, _extract_month) VALUES (?, ?, ?, 'DOMESTIC_ABUSE', 'STANDARD', 1, ?)",
        [record_id, household, when, arrived],
    )


@pytest.fixture
def published(hearth_home):
    with connect(settings.warehouse_path()) as con:
        for h in (H1, H2):
            add_household(con, h)
        _police(con, "PL000000001", H1, date(2024, 6, 1), "2024-06")  # uncertain
        _police(con, "PL000000002", H1, date(2024, 9, 1), "2024-09")  # high: 0.95
        _police(con, "PL000000003", H1, date(2024, 3, 1), "2024-03")  # exactly high: 0.9
        _police(con, "PL000000004", H1, date(2025, 2, 1), "2025-02")  # after the as-of date
        _police(con, "PL000000005", H2, date(2024, 5, 1), "2024-05")  # another household
        add_fire_record(con, H1, date(2024, 7, 1), "2024-07")  # FR1, uncertain
        relink(con)
        for rid, p in [
            ("PL000000001", 0.62),
            ("PL000000002", 0.95),
            ("PL000000003", 0.9),
            ("PL000000004", 0.3),
            ("PL000000005", 0.4),
            ("FR1", 0.5),
        ]:
            con.execute(
                "UPDATE linked_events SET link_probability = ? WHERE record_id = ?", [p, rid]
            )
    folder = settings.outputs_dir() / AS_OF
    folder.mkdir(parents=True)
    pl.DataFrame(
        {
            "rank": [1, 2],
            "household_pid": [H1, H2],
            "la_code": ["E06000901"] * 2,
            "ward_code": ["E05000001"] * 2,
            "lsoa_code": ["E01000001"] * 2,
            "score": [0.4, 0.2],
        }
    ).write_parquet(folder / "ranked_households.parquet")
    (folder / "run_summary.json").write_text(
        json.dumps({"as_of": AS_OF, "model": {"version": "3"}})
    )
    (settings.outputs_dir() / "latest").symlink_to(folder)
    return hearth_home


def test_an_officer_sees_only_their_own_uncertain_links_and_it_is_audited(published):
    r = uncertain_links("police", rank=1)
    assert r.sources == ("police",) and r.rank == 1 and r.as_of == AS_OF and r.high == 0.9
    assert r.links.columns == ["source", "record_id", "event_date", "link_probability"]
    # below 0.9 only, dated before the as-of date, this household's, police's
    assert r.links["record_id"].to_list() == ["PL000000001"]
    assert r.links["link_probability"].to_list() == [0.62]
    assert uncertain_links("police", household=H2).links["record_id"].to_list() == ["PL000000005"]
    fire = uncertain_links("fire", rank=1)
    assert fire.sources == ("fire",) and fire.links["record_id"].to_list() == ["FR1"]
    last = entries()[-1]
    assert last["action"] == "uncertain_links" and last["role"] == "fire"
    assert last["matched"] == 1 and last["detail"]["rank"] == 1
    text = log_path().read_text()
    assert "PL000000001" not in text and "FR1" not in text and H1 not in text and H2 not in text


def test_a_role_that_may_not_review_links_is_refused_and_audited(published):
    assert reviewable_sources("commissioner") == ()
    with pytest.raises(ReidentifyError, match="may not review how records were linked"):
        uncertain_links("commissioner", rank=1)
    assert entries()[-1]["action"] == "refused"
    with pytest.raises(ReidentifyError, match="not on the published list") as e:
        uncertain_links("police", household="f" * 64)
    assert "f" * 64 not in str(e.value)
    with pytest.raises(ReidentifyError, match="or its --rank, one"):
        uncertain_links("police")


def test_the_command_prints_the_links_for_the_officer(published):
    out = CliRunner().invoke(app, ["reidentify-links", "--role", "police", "--rank", "1"])
    assert out.exit_code == 0, out.output
    assert "PL000000001" in out.output and "0.62" in out.output
    assert "PL000000002" not in out.output and "token" not in out.output
    none = CliRunner().invoke(app, ["reidentify-links", "--role", "health", "--rank", "2"])
    assert none.exit_code == 0 and "has no health record linked" in none.output
