"""The six data contracts: valid ODCS, in step with hearth/sources.py, governed columns."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import duckdb
import jsonschema
import open_data_contract_standard
import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from hearth.quality.contracts import (
    CONTRACTS_DIR,
    ROLES,
    Contract,
    ContractError,
    load_all,
    load_contract,
)
from hearth.sources import CODES, EVENT_SOURCES, INTERVENTION_SOURCES, SOURCES


@pytest.fixture(scope="module")
def contracts() -> dict[str, Contract]:
    return load_all()


def _schema_validator():
    schema = json.loads(
        (Path(open_data_contract_standard.__file__).parent / "schema.json").read_text()
    )
    return jsonschema.validators.validator_for(schema)(schema)


def test_all_six_load_and_follow_the_official_schema(contracts):
    assert list(contracts) == list(SOURCES)
    validator = _schema_validator()
    for source in SOURCES:
        data = yaml.safe_load((CONTRACTS_DIR / f"{source}.yaml").read_text())
        assert list(validator.iter_errors(data)) == []
        assert data["apiVersion"] == "v3.1.0" and data["kind"] == "DataContract"
        model = OpenDataContractStandard.model_validate(data)
        # the pydantic model keeps everything: no key was silently dropped
        assert model.model_dump(exclude_none=True, by_alias=True) == data


def test_columns_codes_and_format_agree_with_sources(contracts):
    seen_codes = set()
    for source, spec in SOURCES.items():
        c = contracts[source]
        assert c.column_names == spec.columns
        assert c.file_format == spec.file_format
        for col in c.columns:
            assert col.allowed_values == CODES.get((source, col.name))
            if col.allowed_values:
                seen_codes.add((source, col.name))
    assert seen_codes == set(CODES)


def test_every_column_is_described_and_has_roles(contracts):
    for c in contracts.values():
        assert c.purpose and c.owner and c.retention and c.lawful_basis
        for col in c.columns:
            assert len(col.description) > 20, (c.source, col.name)
            assert col.roles and set(col.roles) <= set(ROLES), (c.source, col.name)
            assert col.classification, (c.source, col.name)


def test_types_keys_and_ranges(contracts):
    for c in contracts.values():
        for col in c.columns:
            if col.name.endswith("_pid"):
                assert col.pattern == "^[0-9a-f]{64}$"
            if col.name.endswith("_date"):
                assert c.duckdb_type(col.name) == "DATE"
    assert contracts["addresses"].duckdb_type("imd_decile") == "BIGINT"
    assert contracts["health"].duckdb_columns()["event_type"] == "VARCHAR"
    imd = contracts["addresses"].column("imd_decile")
    assert (imd.minimum, imd.maximum) == (1, 10)
    born = contracts["people"].column("birth_year")
    assert (born.minimum, born.maximum) == (1900, 2030)

    def required(source, col):
        return contracts[source].column(col).required

    assert required("health", "person_pid")
    # issue 25: social care holds NHS numbers for some cases, fire UPRNs for most addresses; a
    # record without its key carries tokens for the linkage stage
    assert not required("social_care", "person_pid") and not required("fire", "household_pid")
    assert not required("police", "person_pid") and not required("police", "household_pid")
    assert not required("social_care", "household_pid")
    assert not required("people", "household_pid")  # required only while RESIDENT
    for source in (*EVENT_SOURCES, *INTERVENTION_SOURCES):
        assert contracts[source].column("record_id").unique
    assert contracts["addresses"].column("household_pid").unique
    unique = {(s, col.name) for s, c in contracts.items() for col in c.columns if col.unique}
    assert unique == {(s, "record_id") for s in (*EVENT_SOURCES, *INTERVENTION_SOURCES)} | {
        ("addresses", "household_pid")
    }


def test_conditional_requirements(contracts):
    rules = {
        (s, r.kind, r.column, r.required_when_column, r.in_values)
        for s, c in contracts.items()
        for r in c.conditional_rules
    }
    # issue 26: a completed date only for an accepted offer and never before it; a list's
    # generation and rank only for an offer from a list
    assert {r for r in rules if r[0] == "interventions"} == {
        ("interventions", "only_when", "completed_date", "response", ("ACCEPTED",)),
        ("interventions", "not_before", "completed_date", "offer_date", ()),
        ("interventions", "only_when", "list_rank", "from_list", ("Y",)),
        ("interventions", "only_when", "list_generation", "from_list", ("Y",)),
    }
    rules = {(r[0], *r[2:]) for r in rules if r[0] != "interventions" and r[1] == "required_when"}
    assert rules == {
        ("police", "risk_level", "event_type", ("DOMESTIC_ABUSE",)),
        ("people", "household_pid", "status", ("RESIDENT",)),
        ("health", "category", "event_type", ("AE_ATTENDANCE", "EMERGENCY_ADMISSION")),
        ("health", "condition", "event_type", ("LTC_REGISTER",)),
        ("health", "smoking_status", "event_type", ("SMOKING_STATUS",)),
    }


def test_lawful_basis(contracts):
    for c in contracts.values():
        assert any("6(1)(e)" in b for b in c.lawful_basis)
        special = any(col.classification == "special-category" for col in c.columns)
        if special:
            assert any("9(2)(h)" in b or "9(2)(g)" in b for b in c.lawful_basis), c.source


def test_roles_keep_police_and_clinical_detail_from_fire(contracts):
    police = contracts["police"]
    assert police.visible_to("fire") == ()
    police_only = [col.name for col in police.columns if col.roles == ("police",)]
    assert police_only == ["record_id", *SOURCES["police"].tokens]
    for name in ("risk_level", "event_type", "person_pid"):
        assert "fire" not in police.column(name).roles
    assert contracts["health"].visible_to("fire") == ()
    assert contracts["social_care"].visible_to("fire") == ()
    assert "risk_level" not in police.visible_to("commissioner")
    for c in contracts.values():  # commissioners work at household level
        assert "person_pid" not in c.visible_to("commissioner")
        usage = yaml.safe_load((CONTRACTS_DIR / f"{c.source}.yaml").read_text())["description"]
        assert "Column access" in usage["usage"]  # the rules are written down in each contract


def _nhs_number_like(text: str) -> bool:
    for m in re.finditer(r"(?<![0-9a-f])\d{10}(?![0-9a-f])", text):
        d = [int(x) for x in m.group()]
        check = (11 - sum(x * w for x, w in zip(d[:9], range(10, 1, -1), strict=True)) % 11) % 11
        if check != 10 and check == d[9]:
            return True
    return False


def test_examples_hold_no_personal_data():
    postcode = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")
    for source in SOURCES:
        data = yaml.safe_load((CONTRACTS_DIR / f"{source}.yaml").read_text())
        for prop in data["schema"][0]["properties"]:
            for ex in prop.get("examples", []):
                text = str(ex)
                assert not _nhs_number_like(text) and not postcode.search(text), (source, ex)
                if prop["name"].endswith("_pid"):
                    assert re.fullmatch(prop["logicalTypeOptions"]["pattern"], text)
        for member in data["team"]["members"]:
            assert member["username"].split("@")[1].split(".")[1] == "example"


def test_contract_is_frozen(contracts):
    with pytest.raises(dataclasses.FrozenInstanceError):
        contracts["fire"].source = "x"  # type: ignore[misc]


def test_row_rules_are_valid_duckdb_sql(contracts):
    con = duckdb.connect()
    for source, c in contracts.items():
        cols = ", ".join(f'"{n}" {t}' for n, t in c.duckdb_columns().items())
        con.execute(f"CREATE TABLE {source} ({cols})")
        for rule in c.row_rules():
            con.execute(f"SELECT count(*) FROM {source} WHERE {rule.violation_sql}").fetchone()


# --- broken contracts are rejected, naming the file and the problem ---------------------------


@pytest.fixture
def broken_root(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, root)
    return root


def _edit(root: Path, source: str, change) -> Path:
    path = root / f"{source}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _props(data):
    return data["schema"][0]["properties"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("id"), "'id' is a required property"),
        (lambda d: _props(d)[1].update(logicalType="strin"), "'strin' is not one of"),
        (lambda d: _props(d)[4]["quality"][0].update(validValuez=["X"]), "validValuez"),
        (lambda d: d["schema"][0]["quality"][0].update(threshold=1), "threshold"),
    ],
    ids=["missing-id", "bad-logicalType", "unknown-quality-key", "unknown-table-quality-key"],
)
def test_broken_contract_rejected_with_file_and_problem(broken_root, change, problem):
    path = _edit(broken_root, "police", change)
    with pytest.raises(ContractError) as err:
        load_contract("police", broken_root)
    assert str(path) in str(err.value) or str(path.resolve()) in str(err.value)
    assert problem in str(err.value)


def test_the_pydantic_model_alone_is_too_lenient(broken_root):
    """Why contracts.py also validates with jsonschema (api-notes); fails if the model tightens."""
    data = yaml.safe_load((broken_root / "police.yaml").read_text())
    data.pop("id")
    _props(data)[1]["logicalType"] = "strin"
    OpenDataContractStandard.model_validate(data)  # accepted


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: _props(d).reverse(), "hearth/sources.py"),
        (lambda d: _props(d).pop(5), "missing ['risk_level']"),
        (
            lambda d: _props(d)[4]["quality"][0]["arguments"]["validValues"].append("OTHER"),
            "allowed codes",
        ),
        (lambda d: _props(d)[0]["customProperties"][0].update(value=["fire", "nobody"]), "roles"),
        (lambda d: _props(d)[0].update(description=" "), "no description"),
        (lambda d: d["customProperties"][2].update(value="parquet"), "fileFormat"),
        (
            lambda d: d["schema"][0]["quality"][0].update(query="SELECT 1"),
            "query and mustBe must be exactly",
        ),
    ],
    ids=["order", "missing-column", "codes", "roles", "description", "format", "rule-query"],
)
def test_disagreement_with_sources_rejected(broken_root, change, problem):
    path = _edit(broken_root, "police", change)
    with pytest.raises(ContractError, match=re.escape(problem)) as err:
        load_contract("police", broken_root)
    assert path.name in str(err.value)


def test_missing_file_and_unknown_source(tmp_path):
    with pytest.raises(ContractError, match="no contract file"):
        load_contract("fire", tmp_path)
    with pytest.raises(ContractError, match="not a Hearth source"):
        load_contract("ambulance")


def test_token_columns_are_declared_tokens_seen_only_by_their_own_agency(contracts):
    """Issue 25: each token column is optional, of a token's form, and no role but the sending
    agency's (which holds the raw values anyway) is given it: only linkage reads tokens."""
    from hearth.privacy.tokens import BIGRAMS_PATTERN, TOKEN_PATTERN, VERSION_PATTERN

    own = {"police": "police", "fire": "fire", "health": "health", "social_care": "social_care"}
    own["people"] = "social_care"  # the council's person register
    for source, spec in SOURCES.items():
        for name in spec.tokens:
            col = contracts[source].column(name)
            assert not col.required and col.roles == (own[source],), (source, name)
            want = (
                VERSION_PATTERN
                if name == "token_version"
                else BIGRAMS_PATTERN
                if name.endswith("_tokens")
                else TOKEN_PATTERN
            )
            assert col.pattern == want, (source, name)
        assert spec.columns[-len(spec.tokens) or len(spec.columns) :] == spec.tokens


def _options(d, i):
    return _props(d)[i].setdefault("logicalTypeOptions", {})


@pytest.mark.parametrize(
    ("source", "change", "problem"),
    [
        ("police", lambda d: _options(d, 0).pop("pattern"), "'record_id' declares no shape"),
        ("people", lambda d: _options(d, 2).pop("maximum"), "needs logicalTypeOptions minimum"),
        ("police", lambda d: _options(d, 3).update(format="dd/MM/yyyy"), "format yyyy-MM-dd"),
    ],
    ids=["text-without-pattern-or-codes", "integer-without-bounds", "date-in-another-format"],
)
def test_a_column_without_a_declared_shape_is_refused(broken_root, source, change, problem):
    """Hearth keeps a received value only when it has its column's declared shape
    (hearth/ingest/shapes.py): a source's column with no shape is a contract to fix."""
    path = _edit(broken_root, source, change)
    with pytest.raises(ContractError, match=re.escape(problem)) as err:
        load_contract(source, broken_root)
    assert path.name in str(err.value)
