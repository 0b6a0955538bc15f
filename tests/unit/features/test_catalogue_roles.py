"""Who may read a feature follows from the data contracts alone: `may_read` answers for a
column, the catalogue derives every feature's roles from the columns it is built from, and a
`roles:` list written in the catalogue that disagrees is refused in a sentence."""

from __future__ import annotations

import copy

import pytest
import yaml

from hearth.features.access import code_part
from hearth.features.catalogue import build_catalogue, load_catalogue
from hearth.quality.contracts import ROLES, ContractError, load_contract, may_read
from hearth.settings import SQL_DIR
from hearth.sources import SOURCES, event_code_parts


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load((SQL_DIR / "features" / "catalogue.yaml").read_text(encoding="utf-8"))


def test_may_read_is_the_contracts_column_roles():
    for source in SOURCES:
        contract = load_contract(source)
        for col in contract.columns:
            for role in ROLES:
                assert may_read(role, source, col.name) == (role in col.roles)
    assert not may_read("commissioner", "police", "risk_level")
    assert may_read("commissioner", "police", "event_type")
    assert not may_read("fire", "health", "smoking_status")
    assert may_read("commissioner", "areas", "area_name")  # a reference file's column
    with pytest.raises(ContractError, match="no column 'nhs_number'"):
        may_read("fire", "health", "nhs_number")
    with pytest.raises(ContractError, match="not a role"):
        may_read("press", "health", "event_type")


def test_an_event_code_is_read_up_to_the_first_column_the_role_may_not_read():
    assert event_code_parts("police:DOMESTIC_ABUSE:HIGH") == (
        "police",
        (("event_type", "DOMESTIC_ABUSE"), ("risk_level", "HIGH")),
    )
    assert code_part("police:DOMESTIC_ABUSE:HIGH", "commissioner") == "police:DOMESTIC_ABUSE"
    assert code_part("police:DOMESTIC_ABUSE:HIGH", "police") == "police:DOMESTIC_ABUSE:HIGH"
    assert code_part("health:LTC_REGISTER:COPD", "commissioner") == "health:LTC_REGISTER"
    assert code_part("health:SMOKING_STATUS:CURRENT", "fire") is None
    with pytest.raises(ValueError, match="not an allowed code"):
        event_code_parts("health:LTC_REGISTER:GOUT")


def test_every_feature_is_read_whole_only_by_roles_that_may_read_its_columns():
    cat = load_catalogue()
    for f in cat.features:
        assert f.columns, f.name
        for role in f.roles:
            # every column, except those whose every value the feature counts together
            hidden = [(s, c) for s, c in f.columns if not may_read(role, s, c)]
            assert all(
                c in ("risk_level", "category", "condition", "smoking_status", "cause")
                for _, c in hidden
            ), (f.name, role, hidden)
    assert "fire" not in cat.by_name("smoker_recorded_12m").roles
    assert "commissioner" not in cat.by_name("domestic_abuse_high_12m").roles
    assert "commissioner" in cat.by_name("domestic_abuse_records_12m").roles
    assert "commissioner" not in cat.by_name("copd_register_12m").roles
    assert "fire" not in cat.by_name("smoker_without_alarm").roles


def test_a_written_roles_list_must_agree_with_the_contracts(raw):
    agreeing = copy.deepcopy(raw)
    agreeing["event_features"][0]["roles"] = ["social_care", "health"]
    build_catalogue(agreeing)
    wrong = copy.deepcopy(raw)
    smoker = next(f for f in wrong["event_features"] if f["key"] == "smoker_recorded")
    smoker["roles"] = ["commissioner", "health", "fire"]
    with pytest.raises(ValueError) as e:
        build_catalogue(wrong)
    said = str(e.value)
    assert "event feature smoker_recorded" in said and "the data contracts" in said
    assert "Traceback" not in said


def test_a_household_feature_must_name_its_columns(raw):
    bad = copy.deepcopy(raw)
    del bad["household_features"][0]["columns"]
    with pytest.raises(ValueError, match="names no `columns`"):
        build_catalogue(bad)
    bad["household_features"][0]["columns"] = ["people.nhs_number"]
    with pytest.raises(ValueError, match="not a source.column"):
        build_catalogue(bad)


def test_a_code_read_in_part_needs_its_coarse_words(raw):
    bad = copy.deepcopy(raw)
    del bad["coarse_words"]["police:DOMESTIC_ABUSE"]
    with pytest.raises(ValueError, match="commissioner role may read police:DOMESTIC_ABUSE"):
        build_catalogue(bad)
