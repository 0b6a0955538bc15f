"""What a theme counts is said once, in a key, in the report and the workbook; the role views
read each role's own reasons and the lead's why (hearth/publish/roles.py)."""

from __future__ import annotations

from html import escape

import polars as pl

from hearth.features.catalogue import load_catalogue
from hearth.publish.report import build_report
from hearth.publish.roles import (
    OTHER_AGENCY,
    ROLE_REASONS,
    encode_role_reasons,
    role_view,
)
from hearth.publish.words import KEY_TITLE, ListMeta, reason_key_rows

CRISIS = "latest past crisis: dwelling fire started by smoking materials, 12 months ago"


def _ranked() -> pl.DataFrame:
    roles = load_catalogue().roles
    everyone = {r: ([], ("another agency", None)) for r in roles}
    by_role = [
        # the police may read one reason, in its own form; the fire service none
        everyone
        | {
            "commissioner": (
                [(CRISIS, "crisis_records_months_since")],
                ("Council early help hub", "the why"),
            ),
            "police": (
                [
                    ("2 medium-risk domestic abuse incidents", "domestic_abuse_records_12m"),
                    ("a reason on a feature police may not read", "ae_respiratory_12m"),
                    ("a reason on an unknown feature", "no_such_feature"),
                ],
                ("another agency", None),
            ),
        },
        None,  # a household scored before role reasons were kept: masked by feature
    ]
    return pl.DataFrame(
        {
            "rank": [1, 2],
            "household_pid": ["a" * 64, "b" * 64],
            "la_code": ["E06000901"] * 2,
            "ward_code": ["E05901001"] * 2,
            "lsoa_code": ["E01900001"] * 2,
            "score": [0.5, 0.4],
            "risk_tier": ["very high"] * 2,
            "reason_1": [CRISIS, "3 anti-social behaviour reports in the last 12 months"],
            "reason_2": [None, None],
            "reason_3": [None, None],
            "lead_agency": ["Council early help hub", "Neighbourhood policing"],
            "lead_why": ["the why", "strongest reason: 3 anti-social behaviour reports"],
            "reason_1_feature": ["crisis_records_months_since", "asb_12m"],
            "reason_2_feature": [None, None],
            "reason_3_feature": [None, None],
            ROLE_REASONS: [encode_role_reasons(b) if b else None for b in by_role],
        }
    )


def test_role_views_read_each_roles_own_reasons():
    ranked = _ranked()
    police = role_view(ranked, "police")
    assert police["reason_1"].to_list() == [
        "2 medium-risk domestic abuse incidents",
        "3 anti-social behaviour reports in the last 12 months",
    ]
    # reasons on features the role may not read are dropped even if the JSON holds them
    assert police["reason_2"].to_list() == [None, None]
    assert police["lead_why"].to_list() == [None, None]
    fire = role_view(ranked, "fire")
    assert fire["reason_1"].to_list() == [OTHER_AGENCY, OTHER_AGENCY]  # once, not blank
    assert fire["reason_2"].to_list() == [None, None]
    commissioner = role_view(ranked, "commissioner")
    assert commissioner["reason_1"][0] == CRISIS
    assert commissioner["lead_why"].to_list() == ["the why", None]  # no role words: closed
    assert commissioner["lead_agency"].to_list() == ["Council early help hub", "another agency"]
    assert police["lead_agency"].to_list() == ["another agency"] * 2
    assert not {ROLE_REASONS, "reason_1_feature"} & set(police.columns)


def test_the_key_is_in_the_report_and_the_workbook_once(tmp_path):
    from openpyxl import load_workbook

    from hearth.publish.workbook import write_workbook

    key = reason_key_rows()  # the commissioners' (the report's and the main workbook's)
    crises = ("past crises", load_catalogue().by_name("crisis_records_12m").definition)
    assert crises in reason_key_rows("health") and crises not in key
    assert not [m for _, m in key if "high-risk" in m or "COPD" in m]
    summary = {"as_of": "2026-01", "households_scored": 2, "model": {"name": "m"}}
    html = build_report(summary, _ranked(), None)
    assert html.count(KEY_TITLE) == 1
    for words, meaning in key:
        assert html.count(f"<dd>{escape(meaning)}</dd>") == 1, words
    meta = ListMeta("2026-01", "m version 1", "now", 2, 2, "the top 2 households")
    path = tmp_path / "list.xlsx"
    write_workbook(path, role_view(_ranked(), "commissioner"), meta)
    wb = load_workbook(path, read_only=True)
    cover = [c for row in wb["About this list"].iter_rows(values_only=True) for c in row if c]
    cells = [c for ws in wb.worksheets[1:] for row in ws.iter_rows(values_only=True) for c in row]
    wb.close()
    assert cover.count(KEY_TITLE) == 1
    for words, meaning in key:
        assert cover.count(meaning) == 1, words
        assert not [c for c in cells if isinstance(c, str) and meaning in c]
    assert "Why this lead" in cells and "the why" in cells
