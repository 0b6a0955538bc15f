"""A theme's reason names the kinds of record behind it for that household, in the member
features' words, with its definition once in the key; a role reads a theme counted over the
kinds of record it may read (hearth/features/wording.py)."""

from __future__ import annotations

import pytest

from hearth.features.catalogue import NO_EVENT_MONTHS, load_catalogue
from hearth.features.wording import fact_keys, named_keys, readable_by, reason_key, say


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


def _none(cat) -> dict[str, float]:
    """A household with no records at all."""
    return {f.name: float(NO_EVENT_MONTHS) if f.kind == "recency" else 0.0 for f in cat.features}


def test_a_past_crisis_names_the_kind_of_record(cat):
    values = _none(cat) | {
        "fire_smoking_months_since": 12.0,
        "admission_fall_months_since": 20.0,
        "crisis_records_months_since": 12.0,
    }
    text = say(cat, "crisis_records_months_since", values)
    assert text == "latest past crisis: dwelling fire started by smoking materials, 12 months ago"
    # two kinds in the same month: both named
    values["admission_fall_months_since"] = 12.0
    assert say(cat, "crisis_records_months_since", values) == (
        "latest past crisis: emergency hospital admission after a fall and dwelling fire "
        "started by smoking materials, 12 months ago"
    )
    assert named_keys(cat, "crisis_records_months_since", values) == {
        "crisis_records",
        "admission_fall",
        "fire_smoking",
    }
    # beyond the model's look-back, nothing happened
    assert say(cat, "crisis_records_months_since", values, recency_cap=6) == (
        "no past crisis in the last 6 months"
    )


def test_a_theme_count_is_broken_down_by_kind(cat):
    values = _none(cat) | {
        "domestic_abuse_medium_24m": 6.0,
        "domestic_abuse_high_24m": 1.0,
        "child_safeguarding_24m": 3.0,
        "domestic_abuse_records_24m": 10.0,
    }
    assert say(cat, "domestic_abuse_records_24m", values) == (
        "10 domestic abuse records in the last 2 years: 6 medium-risk domestic abuse incidents, "
        "3 child safeguarding concerns and 1 high-risk domestic abuse incident"
    )
    # one kind only: the member's own sentence
    one = _none(cat) | {"admission_fall_12m": 2.0, "crisis_records_12m": 2.0}
    assert say(cat, "crisis_records_12m", one) == (
        "2 emergency hospital admissions after a fall in the last 12 months"
    )
    # more kinds than a cell can hold: the rest counted together
    many = _none(cat) | {
        "admission_fall_12m": 3.0,
        "fire_other_12m": 2.0,
        "child_protection_12m": 1.0,
        "domestic_abuse_high_12m": 1.0,
        "crisis_records_12m": 7.0,
    }
    assert say(cat, "domestic_abuse_records_12m", many | {"domestic_abuse_12m": 4.0}) == (
        "5 domestic abuse records in the last 12 months: 4 standard-risk and 1 high-risk "
        "domestic abuse incidents"
    )
    assert say(cat, "crisis_records_12m", many) == (
        "7 past crises in the last 12 months: 3 emergency hospital admissions after a fall, "
        "2 dwelling fires (cooking, electrical or other) and 2 other records"
    )


def test_no_theme_words_carry_their_definition(cat):
    key = dict(reason_key(cat))
    assert "past crises" in key and "dwelling fire" in key["past crises"]
    for f in cat.features:
        if f.members:
            assert f.definition, f.name
            assert "(" not in f.one + f.many, f"{f.name}: the definition belongs in the key"
            assert f.definition not in f.describe(1.0)


def test_a_role_reads_a_theme_over_the_records_it_may_read(cat):
    values = _none(cat) | {
        "domestic_abuse_medium_12m": 2.0,
        "child_safeguarding_12m": 3.0,
        "domestic_abuse_records_12m": 5.0,
        "domestic_abuse_medium_months_since": 4.0,
        "child_safeguarding_months_since": 1.0,
        "domestic_abuse_records_months_since": 1.0,
    }
    assert not readable_by(cat, "domestic_abuse_records_12m", "fire")
    assert readable_by(cat, "domestic_abuse_records_12m", "police")
    assert not readable_by(cat, "no_such_feature", "commissioner")
    # police may read every column of both kinds (social care's are shared with them)
    assert say(cat, "domestic_abuse_records_12m", values, role="police") == (
        "5 domestic abuse records in the last 12 months: 3 child safeguarding concerns and 2 "
        "medium-risk domestic abuse incidents"
    )
    # a commissioner reads the theme whole, but not the risk level (police contract)
    assert say(cat, "domestic_abuse_records_12m", values, role="commissioner") == (
        "5 domestic abuse records in the last 12 months: 3 child safeguarding concerns and 2 "
        "domestic abuse incidents"
    )
    assert say(cat, "domestic_abuse_records_months_since", values, role="commissioner") == (
        "latest domestic abuse record: child safeguarding concern, 1 month ago"
    )
    assert say(cat, "domestic_abuse_records_12m", values, role="fire") is None
    # one high-risk incident among three, to a commissioner: three incidents, no risk level
    da = values | {"domestic_abuse_12m": 2.0, "domestic_abuse_high_12m": 1.0}
    assert say(cat, "domestic_abuse_high_12m", da, role="commissioner") == (
        "5 domestic abuse incidents in the last 12 months"
    )
    assert say(cat, "domestic_abuse_high_12m", da, role="police") == (
        "1 high-risk domestic abuse incident in the last 12 months"
    )
    # a theme read in part: the kinds the role may read, without the theme's name
    crises = _none(cat) | {
        "admission_fall_12m": 2.0,
        "fire_smoking_12m": 1.0,
        "domestic_abuse_high_12m": 1.0,
        "crisis_records_12m": 4.0,
    }
    assert say(cat, "crisis_records_12m", crises, role="commissioner") == (
        "3 records in the last 12 months: 2 emergency hospital admissions and 1 dwelling fire "
        "started by smoking materials"
    )
    only_high = _none(cat) | {"domestic_abuse_high_12m": 1.0, "crisis_records_12m": 1.0}
    assert say(cat, "crisis_records_12m", only_high, role="commissioner") is None
    # smoking status is health's clinical detail: fire reads nothing of it
    smoker = values | {"smoker_recorded_12m": 1.0}
    assert say(cat, "smoker_recorded_12m", smoker, role="fire") is None
    assert say(cat, "smoker_recorded_12m", smoker, role="commissioner") == (
        "1 smoking status record in the last 12 months"
    )
    assert say(cat, "asb_12m", values | {"asb_12m": 1.0}, role="fire") is None
    assert say(cat, "copd_register_12m", values | {"copd_register_12m": 1.0}, role="police") is None


def test_fact_keys_name_the_records_a_rule_reads(cat):
    assert fact_keys(cat, "domestic_abuse_records_12m") >= {
        "domestic_abuse_high",
        "child_safeguarding",
    }
    assert fact_keys(cat, "smoker_without_alarm") == {
        "smoker_without_alarm",
        "smoker_recorded",
        "smoke_alarm_fitted",
    }
    assert fact_keys(cat, "over_75s") == set()  # who lives where is context, not a record
    assert fact_keys(cat, "agencies_involved_12m") == {"agencies_involved_12m"}
