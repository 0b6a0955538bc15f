"""The pieces of what people receive, on small frames: the small-number rule, role views,
capacity plans, the published top, the workbook and the report's own rules."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from hearth.features.catalogue import load_catalogue
from hearth.features.wording import ANOTHER_AGENCY
from hearth.publish.capacity import (
    CapacityError,
    Team,
    allocate,
    lead_role,
    load_capacity,
)
from hearth.publish.ranked import (
    HIGH_RISK_TIERS,
    area_counts,
    published_top,
    risk_tiers,
    top_count,
)
from hearth.publish.report import build_report
from hearth.publish.roles import OTHER_AGENCY, REASONS, role_view, visible_columns, visible_features
from hearth.publish.suppression import headline, is_disclosive, suppress
from hearth.quality.contracts import ROLES
from hearth.sources import AGENCIES
from models.reasons import check_rules, lead_agencies, load_rules

ROOT = Path(__file__).resolve().parents[3]


# ---- the small-number rule ---------------------------------------------------------------


@pytest.mark.parametrize(
    "n, shown",
    [
        (0, "0"),
        (1, "*"),
        (7, "*"),
        (8, "10"),
        (10, "10"),
        (12, "10"),
        (13, "15"),
        (17, "15"),
        (18, "20"),
        (1234, "1,235"),
        (None, ""),
    ],
)
def test_suppress(n, shown):
    assert suppress(n) == shown


@given(st.integers(min_value=0, max_value=10**9))
def test_suppress_never_shows_a_small_count_and_is_near(n):
    shown = suppress(n)
    assert not is_disclosive(shown)
    if n >= 8:
        value = int(shown.replace(",", ""))
        assert value % 5 == 0 and abs(value - n) <= 2


def test_suppress_rejects_negative_counts():
    with pytest.raises(ValueError):
        suppress(-1)


def test_headline_is_exact_unless_small():
    assert headline(20) == "20" and headline(12345) == "12,345"
    assert headline(0) == "0" and headline(5) == "*"


# ---- role views ----------------------------------------------------------------------------


def _ranked(features: list[list[str | None]]) -> pl.DataFrame:
    n = len(features)
    return pl.DataFrame(
        {
            "rank": list(range(1, n + 1)),
            "household_pid": [f"{i:064x}" for i in range(n)],
            "la_code": ["E06000901"] * n,
            "ward_code": ["E05901001"] * n,
            "lsoa_code": ["E01900001"] * n,
            "score": [0.5 - i / 100 for i in range(n)],
            "risk_tier": ["very high"] * n,
            **{
                r: [f"text of {f[j]}" if f[j] else None for f in features]
                for j, r in enumerate(REASONS)
            },
            "lead_agency": ["Neighbourhood policing"] * n,
            **{f"{r}_feature": [f[j] for f in features] for j, r in enumerate(REASONS)},
        }
    )


def _feature(agency: str, with_roles: set[str], without_roles: set[str]) -> str:
    for f in load_catalogue().features:
        if f.agency == agency and with_roles <= set(f.roles) and not without_roles & set(f.roles):
            return f.name
    raise AssertionError(f"no {agency} feature for {with_roles} without {without_roles}")


def test_role_view_masks_reasons_on_features_the_role_may_not_see():
    """A list scored before role words were kept: each role sees only the reasons it reads
    whole in the words they were written in, and no lead (fail closed)."""
    police_only = _feature("police", {"police"}, {"fire"})
    fire_own = _feature("fire", {"fire"}, set())
    commissioner_whole = _feature("combined", {"commissioner"}, {"fire", "police"})
    health_only = _feature("health", {"health"}, {"fire", "police", "commissioner"})
    ranked = _ranked(
        [
            [police_only, fire_own, "residents"],
            [fire_own, None, None],
            [commissioner_whole, "not_a_catalogue_feature", health_only],
            ["domestic_abuse_records_12m", None, None],
        ]
    )
    fire = role_view(ranked, "fire")
    assert fire["reason_1"].to_list() == [
        OTHER_AGENCY,
        f"text of {fire_own}",
        OTHER_AGENCY,
        OTHER_AGENCY,
    ]
    assert fire["reason_2"].to_list() == [f"text of {fire_own}", None, OTHER_AGENCY, None]
    assert fire["reason_3"].to_list() == ["text of residents", None, OTHER_AGENCY, None]
    # what chose a lead is not known without role words: no role reads it
    assert fire["lead_agency"].to_list() == [ANOTHER_AGENCY] * 4
    assert not any(c.endswith("_feature") for c in fire.columns)
    police = role_view(ranked, "police")
    assert police["reason_1"][0] == f"text of {police_only}"
    commissioner = role_view(ranked, "commissioner")
    assert commissioner["reason_1"].to_list()[2] == f"text of {commissioner_whole}"
    assert commissioner["reason_2"].to_list()[2] == OTHER_AGENCY  # unknown feature: hidden
    assert commissioner["reason_3"].to_list()[2] == OTHER_AGENCY  # clinical detail
    # a theme the commissioner reads whole but only at its level of detail: the words written
    # for the full list may name risk levels, so they are not shown
    assert commissioner["reason_1"].to_list()[3] == OTHER_AGENCY
    assert commissioner["lead_agency"].to_list() == [ANOTHER_AGENCY] * 4


def test_every_role_sees_only_catalogue_permitted_features():
    cat = load_catalogue()
    for role in ROLES:
        allowed = visible_features(role, cat)
        assert allowed <= {f.name for f in cat.features if role in f.roles}
        cols = visible_columns(role)
        assert cols[0] == "rank" and "lead_agency" in cols
        assert not any(c.endswith("_feature") for c in cols)
    assert not any(f.agency == "police" for f in cat.features if f.name in visible_features("fire"))
    assert "domestic_abuse_records_12m" not in visible_features("commissioner")
    assert "domestic_abuse_records_12m" in visible_features("police")
    with pytest.raises(ValueError, match="Unknown role"):
        visible_columns("press")


# ---- the published top ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 99, 100, 2000, 2001, 3000, 123457])
def test_top_count_cuts_where_the_tiers_do(n):
    # hearth/publish/ranked.py: a household is in the top two tiers when fewer than 5% of all are
    # ranked above it (the end-to-end test checks the same against the tiers of a real run)
    in_top_two = sum((r - 1) / n < 0.05 for r in range(1, n + 1))
    tiers = risk_tiers(range(1, n + 1), n)
    assert sum(t in HIGH_RISK_TIERS for t in tiers) == in_top_two
    assert top_count(0.05, n) == max(1, in_top_two)
    assert top_count(250, n) == min(250, n)


def test_published_top_and_area_counts():
    ranked = _ranked([["residents", None, None]] * 40).with_columns(
        pl.Series("risk_tier", ["very high"] * 2 + ["high"] * 8 + ["usual"] * 30),
        pl.Series("ward_code", ["A"] * 20 + ["B"] * 20),
    )
    assert published_top(ranked, 0.25)["rank"].to_list() == list(range(1, 11))
    areas = area_counts(ranked)
    assert areas.select("ward_code", "households", "high_risk").rows() == [
        ("A", 20, 10),
        ("B", 20, 0),
    ]


# ---- capacity plans ------------------------------------------------------------------------


LEADS = lead_agencies()


def test_every_suggested_lead_declares_its_agency():
    rules = yaml.safe_load((ROOT / "models" / "lead_agency.yaml").read_text())
    leads = {r["lead"] for r in rules["rules"]} | set(rules["by_agency"].values())
    leads |= set(rules["by_theme"].values())
    for lead in leads:
        assert lead_role(lead, LEADS) in AGENCIES, lead
    assert lead_role("Fire and rescue (safe and well visit)", LEADS) == "fire"
    assert lead_role("Domestic abuse service (police-led MARAC)", LEADS) == "police"
    assert lead_role("Community respiratory team (health)", LEADS) == "health"
    assert lead_role("Early help (children's services)", LEADS) == "social_care"
    # declared, not guessed from the words: a name with no agency's word in it still has one
    assert lead_role("Council early help hub", LEADS) == "social_care"
    assert lead_role("A lead no rule names", LEADS) is None


def _rename_lead(rules: dict, old: str, new: str) -> dict:
    """The rules with one lead renamed everywhere it is written, as a partnership would."""
    text = yaml.safe_dump(rules, sort_keys=False).replace(old, new)
    return yaml.safe_load(text)


def test_renaming_a_lead_keeps_its_households_with_its_agency():
    """Issue 24: renaming "Community respiratory team (health)" to "Community respiratory
    team" used to stop a lead_only health team receiving its households (the agency was
    guessed from "(health)"); the agency is the rules' declaration, so it keeps them."""
    rules = load_rules()
    old, new = "Community respiratory team (health)", "Community respiratory team"
    renamed = _rename_lead(rules, old, new)
    check_rules(renamed, load_catalogue(), "lead_agency.yaml")  # still a valid rules file
    leads = dict(renamed["leads"])
    assert leads[new] == "health" and old not in leads
    top = _top([("LA1", "W1", new), ("LA1", "W1", FIRE), ("LA1", "W2", new)])
    teams = [Team("Respiratory", "health", (), 5, lead_only=True)]
    plan = allocate(top, teams, leads)
    assert plan.teams[0].households["household_pid"].to_list() == ["h0", "h2"]
    assert plan.teams[0].led_by_agency == 2


def test_a_lead_without_a_known_agency_is_refused_when_the_rules_load():
    rules = copy.deepcopy(load_rules())
    rules["leads"]["Neighbourhood policing"] = "housing"
    with pytest.raises(ValueError, match="agency 'housing', which no data contract declares"):
        check_rules(rules, load_catalogue(), "lead_agency.yaml")
    rules = copy.deepcopy(load_rules())
    del rules["leads"]["Neighbourhood policing"]
    with pytest.raises(ValueError, match="'Neighbourhood policing' is not listed under `leads`"):
        check_rules(rules, load_catalogue(), "lead_agency.yaml")


def _top(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rank": list(range(1, len(rows) + 1)),
            "household_pid": [f"h{i}" for i in range(len(rows))],
            "la_code": [r[0] for r in rows],
            "ward_code": [r[1] for r in rows],
            "score": [0.9 - i / 100 for i in range(len(rows))],
            "lead_agency": [r[2] for r in rows],
        }
    )


FIRE, HEALTH, POLICE = (
    "Fire and rescue (safe and well visit)",
    "Community health services (GP practice)",
    "Domestic abuse service (police-led MARAC)",
)


def test_allocate_prefers_the_lead_agency_then_the_narrowest_area():
    top = _top(
        [
            ("LA1", "W1", FIRE),
            ("LA1", "W2", HEALTH),
            ("LA2", "W9", FIRE),
            ("LA1", "W1", POLICE),
            ("LA1", "W1", FIRE),
        ]
    )
    teams = [
        Team("Health everywhere", "health", (), 5),
        Team("Fire LA1", "fire", ("LA1",), 5),
        Team("Fire ward W1", "fire", ("W1",), 1),
        Team("Police", "police", (), 5, lead_only=True),
    ]
    plan = allocate(top, teams, LEADS)
    got = {t.team.name: t.households["household_pid"].to_list() for t in plan.teams}
    assert got["Fire ward W1"] == ["h0"]  # the ward team before the LA team
    assert got["Fire LA1"] == ["h4"]  # the ward team is full
    assert got["Police"] == ["h3"]
    # no fire team covers LA2: health (everywhere) takes the fire-led household there
    assert got["Health everywhere"] == ["h1", "h2"]
    assert plan.summary()["households_planned"] == 5
    assert [t.led_by_agency for t in plan.teams] == [1, 1, 1, 1]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["LA1", "LA2"]),
            st.sampled_from(["W1", "W2", "W3"]),
            st.sampled_from([FIRE, HEALTH, POLICE, None]),
        ),
        max_size=60,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(AGENCIES),
            st.sampled_from([(), ("LA1",), ("W2",)]),
            st.integers(0, 12),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_allocate_sends_each_household_to_one_team_within_capacity(rows, team_specs):
    teams = [Team(f"team {i}", a, areas, v, lo) for i, (a, areas, v, lo) in enumerate(team_specs)]
    top = _top(rows)
    plan = allocate(top, teams, LEADS)
    seen: list[str] = []
    for tp in plan.teams:
        assert tp.planned <= tp.team.visits_per_month
        assert tp.households["rank"].is_sorted()
        assert tp.households["visit_order"].to_list() == list(range(1, tp.planned + 1))
        for la, ward, lead in tp.households.select("la_code", "ward_code", "lead_agency").rows():
            assert not tp.team.areas or la in tp.team.areas or ward in tp.team.areas
            if tp.team.lead_only:
                assert lead_role(lead, LEADS) == tp.team.agency
        seen += tp.households["household_pid"].to_list()
    assert len(seen) == len(set(seen))
    assert len(seen) + plan.not_planned == top.height


def test_load_capacity_example_and_errors(tmp_path):
    teams = load_capacity(ROOT / "docs" / "capacity.example.yaml")
    assert teams and all(t.agency in AGENCIES and t.visits_per_month >= 0 for t in teams)
    bad = tmp_path / "capacity.yaml"
    for text, words in [
        ("teams: []", "list of teams"),
        ("teams:\n  - {team: A, agency: press, visits_per_month: 3}", "agency 'press'"),
        ("teams:\n  - {team: A, agency: fire, visits_per_month: -1}", "visits_per_month"),
        (
            "teams:\n  - {team: A, agency: fire, visits_per_month: 1}\n"
            "  - {team: a, agency: fire, visits_per_month: 1}",
            "share the name",
        ),
        ("teams: [", "not valid YAML"),
    ]:
        bad.write_text(text)
        with pytest.raises(CapacityError, match=re.escape(words)):
            load_capacity(bad)
    with pytest.raises(CapacityError, match="does not exist"):
        load_capacity(tmp_path / "missing.yaml")


# ---- the report on its own -----------------------------------------------------------------


def test_report_is_self_contained_and_escapes_text():
    ranked = _ranked([["residents", None, None]] * 30).with_columns(
        pl.Series("reason_1", ["</script><img src=https://evil.example/x.png>"] * 30)
    )
    summary = {
        "as_of": "2026-01",
        "generated_at": "now",
        "households_scored": 30,
        "risk_tiers": {"very high": 3, "usual": 27},
        "sources": {
            "fire": {
                "rows_received": 9,
                "rows_accepted": 5,
                "rows_quarantined": 4,
                "quarantined_by_rule": {"duplicate_row": 4},
            }
        },
        "linkage": {},
        "extracts_by_month": [
            {
                "source": "fire",
                "extract_month": "2025-12",
                "rows_received": 9,
                "rows_accepted": 5,
                "rows_quarantined": 4,
            }
        ],
        "model": {"name": "m", "version": None},
    }
    html = build_report(summary, ranked, None)
    assert "<img src=https" not in html and "</script><img" not in html
    assert "Content-Security-Policy" in html
    markup = re.sub(r'<script type="application/json".*?</script>', "", html, flags=re.S)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", markup)
    cells = re.findall(r'<span class="agg">([^<]*)</span>', html)
    assert cells and not any(is_disclosive(c) for c in cells)
    assert 'id="hl-tier-very-high" data-value="3">*<' in html  # a small tier is not shown


def test_workbooks_written_in_processes_match_those_written_in_turn(tmp_path):
    from openpyxl import load_workbook

    from hearth.publish.deliver import write_deliverables

    police_only = _feature("police", {"police"}, {"fire"})
    ranked = _ranked([[police_only, "residents", None]] * 30).with_columns(
        pl.Series("la_code", ["E06000901", "E06000902", "E06000903"] * 10)
    )
    summary = {
        "as_of": "2026-01",
        "households_scored": 30,
        "risk_tiers": {"very high": 30},
        "model": {"name": "m", "version": "3"},
    }
    written = {}
    for how, parallel_from in (("in turn", 10**9), ("in processes", 1)):
        folder = tmp_path / how
        folder.mkdir()
        timings = write_deliverables(folder, ranked, summary, top=12, parallel_from=parallel_from)
        assert "workbooks (wall)" in timings and "role fire" in timings
        written[how] = {
            str(p.relative_to(folder)): (
                [
                    [list(r) for r in ws.iter_rows(values_only=True)]
                    for ws in load_workbook(p, read_only=True).worksheets
                ]
                if p.suffix == ".xlsx"
                else p.read_text()
            )
            for p in sorted(folder.rglob("*"))
            if p.suffix in (".xlsx", ".csv")
        }
    assert written["in turn"] == written["in processes"]
    fire = written["in turn"]["roles/fire/ranked_households.csv"]
    assert OTHER_AGENCY in fire and police_only not in fire
