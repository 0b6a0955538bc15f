"""Besides the lead, every other service whose lead rule holds for a household ("also"), each
with its why: in the list, in each role's view (withheld as "another agency" from a role that
may not read the records behind it, like the lead) and in the visit plans (a team of an "also"
agency plans the household too)."""

from __future__ import annotations

import polars as pl

from hearth.features.catalogue import load_catalogue
from hearth.features.wording import ANOTHER_AGENCY
from hearth.modelling.scoring.ranking import ROLE_REASONS, encode_role_reasons
from hearth.modelling.scoring.reasons import (
    also_leads,
    also_words,
    alsos_as_role,
    lead_agencies,
    lead_agency,
    lead_as_role,
    load_rules,
)
from hearth.publish.capacity import Team, allocate
from hearth.publish.roles import role_also, role_view

FIRE = "Fire and rescue (safe and well visit)"
MARAC = "Domestic abuse service (police-led MARAC)"


def _household() -> dict[str, float]:
    cat = load_catalogue()
    values = {n: 0.0 for n in cat.names}
    values |= {n: 99.0 for n in cat.names if n.endswith("_months_since")}
    values |= {
        "smoker_without_alarm": 1.0,
        "smoker_recorded_12m": 1.0,
        "domestic_abuse_12m": 2.0,
        "domestic_abuse_records_12m": 2.0,
        "false_alarm_12m": 1.0,
        "residents": 2.0,
    }
    return values


def test_every_other_service_whose_rule_holds_is_also_with_its_why():
    cat = load_catalogue()
    values = _household()
    lead = lead_agency(values, ["domestic_abuse_records_12m"], cat)
    assert lead.lead == MARAC  # the fire rule holds, but no reason shows it: MARAC leads
    alsos = also_leads(values, lead, cat)
    full = alsos_as_role(alsos, None, values, cat)
    assert [a for a, _ in full] == [FIRE]  # once, by its first rule that holds
    assert full[0][1].startswith(load_rules()["rules"][0]["why"])
    assert also_words(full) == f"{FIRE} — {full[0][1]}"
    # a rule that does not hold is not an "also"; the lead is never its own "also"
    assert not also_leads(values | {"false_alarm_12m": 0.0, "smoker_without_alarm": 0.0}, lead, cat)
    assert all(a.lead != lead.lead for a in alsos)


def test_an_also_a_role_may_not_read_is_withheld_like_the_lead():
    cat = load_catalogue()
    values = _household()
    lead = lead_agency(values, ["domestic_abuse_records_12m"], cat)
    alsos = also_leads(values, lead, cat)
    smoker_roles = cat.by_name("smoker_without_alarm").roles
    alarm_roles = cat.by_name("false_alarm_12m").roles
    for role in cat.roles:
        seen = alsos_as_role(alsos, role, values, cat)
        assert len(seen) == 1, role
        name, why = seen[0]
        if role in smoker_roles:  # the first fire rule, in the role's words
            assert (name, why) == lead_as_role(alsos[0], role, values, cat), role
        elif role in alarm_roles:  # fire may not read smoking records: its own false alarms
            assert name == FIRE and why.startswith("false alarms or fire history"), role
        else:
            assert (name, why) == (ANOTHER_AGENCY, None), role
    assert "fire" not in smoker_roles and "fire" in alarm_roles  # the case above is real


def _list(alsos_by_role: list[dict[str, list[tuple[str, str | None]]]]) -> pl.DataFrame:
    cat = load_catalogue()
    n = len(alsos_by_role)
    enc = [
        encode_role_reasons({r: ([], (MARAC, "domestic abuse")) for r in cat.roles}, a)
        for a in alsos_by_role
    ]
    return pl.DataFrame(
        {
            "rank": list(range(1, n + 1)),
            "household_pid": [f"{i:064x}" for i in range(n)],
            "la_code": ["E06000901"] * n,
            "ward_code": ["E05901001"] * n,
            "lsoa_code": ["E01900001"] * n,
            "score": [0.5] * n,
            "risk_tier": ["very high"] * n,
            **{f"reason_{j}": [None] * n for j in (1, 2, 3)},
            **{f"reason_{j}_feature": [None] * n for j in (1, 2, 3)},
            "lead_agency": [MARAC] * n,
            "lead_why": ["domestic abuse"] * n,
            "also_agencies": [also_words(a.get(None, [])) for a in alsos_by_role],
            ROLE_REASONS: enc,
        },
        schema_overrides={f"reason_{j}": pl.String for j in (1, 2, 3)}
        | {f"reason_{j}_feature": pl.String for j in (1, 2, 3)},
    )


def test_role_views_and_plans_show_the_also_agencies():
    fire_also = [(FIRE, "false alarms or fire history (1 false fire alarm call-out ...)")]
    rows = [
        {None: fire_also, "fire": fire_also, "police": [(ANOTHER_AGENCY, None)]},
        {},  # no "also": fire has no part
        {None: fire_also, "fire": [(ANOTHER_AGENCY, None)]},  # fire may not read why
    ]
    top = _list(rows)
    assert role_also(top[ROLE_REASONS][0], "fire") == fire_also
    fire = role_view(top, "fire")
    assert fire["also_agencies"].to_list() == [
        f"{FIRE} — {fire_also[0][1]}",
        None,
        ANOTHER_AGENCY,
    ]
    assert role_view(top, "police")["also_agencies"][0] == ANOTHER_AGENCY
    teams = [
        Team("MARAC", "police", visits_per_month=10),
        Team("Fire safe and well", "fire", visits_per_month=10, lead_only=True),
    ]
    plan = allocate(top, teams, lead_agencies())
    marac, fire_plan = plan.teams
    assert marac.households["rank"].to_list() == [1, 2, 3]  # each led by MARAC
    # fire plans the household its own view names it "also" for, and only that one
    assert fire_plan.households["rank"].to_list() == [1]
    assert fire_plan.also_by_agency == 1 and fire_plan.summary()["also_for_this_agency"] == 1
    assert plan.not_planned == 0
