"""Every role's files say nothing its contract roles do not allow.

A small world is scored and published in full (the main list, workbook and report, every
role's view, a visit plan for a team of each agency, `tests/support/role_world.py`), and each
role's files are read cell by cell against words built from the data contracts
(`tests/support/role_words.py`: every code, feature, coarse kind, theme, combination and lead
rule built from a column the role may not read). A lead is checked against what chose it. A
catalogue that lets fire read smoking status, against the health contract, is caught."""

from __future__ import annotations

import pytest

from hearth.features import access
from hearth.features.catalogue import load_catalogue
from hearth.features.wording import ANOTHER_AGENCY, say
from hearth.publish.roles import OTHER_AGENCY
from hearth.quality.contracts import ROLES
from tests.support.role_words import _matches, cells_of, check, forbidden, role_files
from tests.support.role_world import publish_world, scored_world

N = 1200


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = tmp_path_factory.mktemp("role-words") / "out"
    publish_world(folder, scored_world(N), top=0.2)
    return folder


@pytest.mark.parametrize("role", ROLES)
def test_no_role_reads_a_word_its_contracts_do_not_allow(published, role):
    found = check(published, role)
    assert found.cells > 1000, role  # its view, plans and (commissioners) list and report
    assert not found.leaks, found.leaks[:3]
    assert not found.bad_leads, found.bad_leads[:3]
    assert found.unknown_pids == 0  # only household pseudonyms, never a person's


def test_the_words_are_built_from_the_contracts_not_by_hand():
    words = {r: {f.phrase for f in forbidden(r)} for r in ROLES}
    # clinical detail stays with health and social care; risk levels from commissioners
    assert "COPD register record" in words["commissioner"] & words["fire"] & words["police"]
    assert "COPD register record" not in words["health"] | words["social_care"]
    assert "record of a current smoker" in words["fire"]
    assert "high-risk domestic abuse incident" in words["commissioner"]
    assert "domestic abuse incident" in words["fire"] - words["commissioner"]
    assert "COPD" in words["commissioner"] and "HIGH" in words["commissioner"]
    assert not words["health"] & {"A&E attendance", "domestic abuse incident"}


def test_each_view_reads_what_it_may_at_its_own_level(published):
    def text(role: str) -> str:
        return "\n".join(c for p in role_files(published, role) for c in cells_of(p))

    commissioner, fire, health = text("commissioner"), text("fire"), text("health")
    # the commissioner reads records at the level the contracts allow, not "other agency"
    assert "domestic abuse incidents" in commissioner or "domestic abuse incident" in commissioner
    assert "emergency hospital admission" in commissioner
    assert "COPD register record" in health  # health reads its own clinical detail
    assert ANOTHER_AGENCY in fire and OTHER_AGENCY in fire
    assert "MARAC" not in fire


@pytest.fixture
def fire_reads_smoking_status(monkeypatch):
    """The catalogue derived as if fire could read health's smoking status (and so the
    record's type and date): the health contract gives it to health and social care only."""
    real = access.may_read
    extra = {("fire", "health", c) for c in ("event_date", "event_type", "smoking_status")}

    def wrong(role, source, column, root=None):
        return (role, source, column) in extra or real(role, source, column, root)

    monkeypatch.setattr(access, "may_read", wrong)
    load_catalogue.cache_clear()
    yield
    monkeypatch.undo()
    load_catalogue.cache_clear()


def test_a_catalogue_that_lets_fire_read_smoking_status_is_caught(
    fire_reads_smoking_status, tmp_path
):
    cat = load_catalogue()
    assert "fire" in cat.by_name("smoker_recorded_12m").roles
    # the words such a catalogue gives fire are among fire's forbidden words
    values = {n: 0.0 for n in cat.names} | {"smoker_recorded_12m": 2.0}
    said = say(cat, "smoker_recorded_12m", values, role="fire")
    assert said and any(_matches(f, said) for f in forbidden("fire"))
    # and the published fire view it makes is caught
    folder = tmp_path / "out"
    publish_world(folder, scored_world(600, seed=7), top=0.3)
    found = check(folder, "fire")
    assert found.leaks  # (reading smoking status means reading health's records and dates)
