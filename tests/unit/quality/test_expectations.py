"""GX suites from the contracts, and GX on DuckDB (with the shim from hearth.quality.gx_duckdb)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import duckdb
import pytest

from hearth.quality.contracts import load_contract
from hearth.quality.expectations import (
    EXPECTATIONS_DIR,
    build_suite,
    load_suite,
    suites_in_step,
    validate_table,
)
from hearth.quality.gx_duckdb import (
    buffer_results,
    close_datasource,
    duckdb_datasource,
    gx_context,
    raised_exception,
)
from hearth.sources import CODES, SOURCES


@pytest.fixture(scope="module")
def gx():
    gx_context()  # sets GX's environment (analytics off) before the first import
    import great_expectations

    return great_expectations


def test_suites_in_step():
    assert suites_in_step() == []


def test_hand_edited_suite_is_reported(tmp_path):
    root = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, root)
    suite = json.loads((root / "health.json").read_text())
    exps = suite["expectations"]
    in_set = next(e for e in exps if e["meta"]["rule"] == "allowed_values:event_type")
    in_set["kwargs"]["value_set"].remove("EMERGENCY_ADMISSION")
    exps[:] = [e for e in exps if e["meta"]["rule"] != "unique:record_id"]
    (root / "health.json").write_text(json.dumps(suite))
    (root / "fire.json").unlink()
    (root / "ambulance.json").write_text("{}")
    (root / "police.json").write_text("{not json")

    problems = suites_in_step(root)
    text = "\n".join(problems)
    health = root / "health.json"
    assert f"{health}: missing or changed: expect_column_values_to_be_in_set on event_type" in text
    assert (
        "health.json: not from the contract: expect_column_values_to_be_in_set on event_type"
        in text
    )
    assert "health.json: missing or changed: expect_column_values_to_be_unique on record_id" in text
    assert f"{root / 'fire.json'} is missing" in text
    assert "ambulance.json has no contract" in text
    assert "police.json is not valid JSON" in text
    assert not any("addresses.json" in p or "people.json" in p for p in problems)


def test_suite_content_follows_the_contract():
    suite = build_suite(load_contract("health"))
    by_rule = {e["meta"]["rule"]: e for e in suite["expectations"]}
    assert by_rule["allowed_values:event_type"]["kwargs"]["value_set"] == list(
        CODES[("health", "event_type")]
    )
    assert by_rule["pattern:person_pid"]["kwargs"]["regex"] == "^[0-9a-f]{64}$"
    assert by_rule["unique:record_id"]["type"] == "expect_column_values_to_be_unique"
    assert by_rule["required_when:category"]["kwargs"]["row_condition"]["parameter"] == [
        "AE_ATTENDANCE",
        "EMERGENCY_ADMISSION",
    ]
    exists = [
        e["kwargs"]["column"] for e in suite["expectations"] if "exists:" in e["meta"]["rule"]
    ]
    assert tuple(exists) == SOURCES["health"].columns
    people = {e["meta"]["rule"]: e for e in build_suite(load_contract("people"))["expectations"]}
    assert people["range:birth_year"]["kwargs"] == {
        "column": "birth_year",
        "min_value": 1900,
        "max_value": 2030,
    }


def test_suite_files_are_gx_suites(gx):
    for source in SOURCES:
        data = load_suite(source)
        suite = gx.ExpectationSuite(**data)
        assert len(suite.expectations) == len(data["expectations"])


# --- GX on DuckDB -----------------------------------------------------------------------------


def _tokens(source: str, **values: str) -> str:
    """The source's token columns (issue 25) for a test table: NULL unless given as SQL."""
    return "".join(f", {values.get(t, 'NULL::VARCHAR')} AS {t}" for t in SOURCES[source].tokens)


HEALTH_SQL = """
CREATE TABLE health AS
SELECT
    CASE WHEN i = 99 THEN 'HL-000001' ELSE 'HL-' || lpad(i::VARCHAR, 6, '0') END AS record_id,
    CASE WHEN i IN (0, 1) THEN NULL
         WHEN i IN (2, 3, 4) THEN 'NOT-A-PID'
         WHEN i = 5 THEN upper(sha256(i::VARCHAR))
         ELSE sha256(i::VARCHAR) END AS person_pid,
    CASE WHEN i = 70 THEN NULL ELSE DATE '2025-01-01' + i::INTEGER END AS event_date,
    CASE WHEN i BETWEEN 10 AND 12 THEN 'NOT_A_CODE'
         WHEN i = 13 THEN NULL
         WHEN i BETWEEN 20 AND 39 THEN 'AE_ATTENDANCE'
         WHEN i BETWEEN 40 AND 49 THEN 'LTC_REGISTER'
         WHEN i BETWEEN 50 AND 54 THEN 'SMOKING_STATUS'
         ELSE 'MENTAL_HEALTH_CONTACT' END AS event_type,
    CASE WHEN i BETWEEN 25 AND 39 THEN 'FALL' WHEN i = 60 THEN 'BROKEN' END AS category,
    CASE WHEN i BETWEEN 42 AND 49 THEN 'COPD' END AS condition,
    CASE WHEN i BETWEEN 50 AND 54 THEN 'EX' WHEN i = 55 THEN 'SOMETIMES' END AS smoking_status
    {tokens}
FROM range(100) r(i)
""".format(
    tokens=_tokens(
        "health",
        given_token="CASE WHEN i = 7 THEN 'SMITH' "
        "WHEN i > 80 THEN substr(sha256(i::VARCHAR), 1, 32) END",
    )
)

HEALTH_BAD = {
    "required:person_pid": 2,
    "pattern:person_pid": 4,
    "required:event_date": 1,
    "required:event_type": 1,
    "allowed_values:event_type": 3,
    "allowed_values:category": 1,
    "allowed_values:smoking_status": 1,
    "required_when:category": 5,
    "required_when:condition": 2,
    "unique:record_id": 2,  # GX counts every row whose value is duplicated
    "pattern:given_token": 1,  # a name where a token belongs
}

PEOPLE_SQL = """
CREATE TABLE people AS
SELECT
    sha256(i::VARCHAR) AS person_pid,
    CASE WHEN i IN (0, 1, 2) THEN NULL ELSE sha256((i // 2)::VARCHAR) END AS household_pid,
    CASE i WHEN 3 THEN 1899 WHEN 4 THEN 2031 WHEN 5 THEN 1900 WHEN 6 THEN 2030 WHEN 7 THEN NULL
           ELSE 1950 + i END AS birth_year,
    CASE WHEN i = 8 THEN 'X' ELSE 'F' END AS sex,
    'NOT_STATED' AS ethnic_group,
    CASE WHEN i = 0 THEN 'LEFT_AREA' ELSE 'RESIDENT' END AS status,
    DATE '2025-01-01' AS effective_date
    {tokens}
FROM range(40) r(i)
""".format(tokens=_tokens("people"))

PEOPLE_BAD = {
    "range:birth_year": 2,
    "required:birth_year": 1,
    "allowed_values:sex": 1,
    "required_when:household_pid": 2,  # two residents without a household; the leaver is fine
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute(HEALTH_SQL)
    con.execute(PEOPLE_SQL)
    con.close()
    return path


@pytest.mark.parametrize(("source", "bad"), [("health", HEALTH_BAD), ("people", PEOPLE_BAD)])
def test_gx_finds_exact_counts(gx, warehouse, source, bad):
    contract = load_contract(source)
    summary = validate_table(warehouse, source, build_suite(contract))
    counts = {o.rule: o.unexpected_count for o in summary.results}
    assert all(o.error is None for o in summary.results)
    assert {r: c for r, c in counts.items() if c} == bad
    assert not summary.success
    assert {o.rule for o in summary.failures} == set(bad)
    # the same counts as the contract's row rules in plain DuckDB SQL (what ingest quarantines)
    con = duckdb.connect(str(warehouse), read_only=True)
    for rule in contract.row_rules():
        (n,) = con.execute(f"SELECT count(*) FROM {source} WHERE {rule.violation_sql}").fetchone()
        assert n == bad.get(rule.name, 0), rule.name
    con.close()
    # counts only: no value from the table appears in what GX hands back
    text = json.dumps(summary.to_dict())
    for value in (
        "NOT_A_CODE",
        "NOT-A-PID",
        "BROKEN",
        "SOMETIMES",
        "HL-1",
        "1899",
        "2031",
        "SMITH",
    ):
        # as a value of its own, not digits inside a float GX reports ("0.366259018999")
        assert not re.search(rf"(?<![\w.]){re.escape(value)}(?!\w)", text), value


def test_validate_table_on_an_open_connection(gx, tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))  # read-write, held by this process, as a pipeline would
    con.execute(
        "CREATE TABLE police AS SELECT 'PL-' || lpad(i::VARCHAR, 6, '0') AS record_id, "
        "NULL::VARCHAR AS person_pid, "
        "NULL::VARCHAR AS household_pid, DATE '2025-01-01' AS event_date, "
        "CASE WHEN i < 3 THEN 'DOMESTIC_ABUSE' ELSE 'ASB' END AS event_type, "
        "CASE WHEN i < 2 THEN 'HIGH' END AS risk_level" + _tokens("police") + " FROM range(10) r(i)"
    )
    summary = validate_table(con, "police", "police")  # suite by source name
    assert summary.outcome("required_when:risk_level").unexpected_count == 1
    # events with neither pseudonym are not failures: they are counted as unlinked later
    assert summary.outcome("pattern:person_pid").success
    assert [o.rule for o in summary.failures] == ["required_when:risk_level"]
    assert con.execute("SELECT count(*) FROM police").fetchone() == (10,)  # still open
    con.close()
    # GX's cursors are closed too: another process can now open the file for writing
    probe = f"import duckdb; duckdb.connect({str(path)!r}).close()"
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)


def test_without_the_shim_gx_on_duckdb_still_fails(gx):
    """GX issues #11579/#10738. If this fails, GX fixed the bug: simplify
    hearth/quality/gx_duckdb.py."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT CASE WHEN i < 3 THEN NULL ELSE 'A' END AS c FROM range(10) r(i)"
    )
    suite = gx.ExpectationSuite(
        name="s",
        expectations=[
            gx.expectations.ExpectColumnValuesToNotBeNull(column="c"),
            gx.expectations.ExpectColumnValuesToMatchRegex(column="c", regex="^A$"),
        ],
    )

    def run(prepare):
        ds = duckdb_datasource(gx_context(), con, shim=False)
        prepare(ds.get_execution_engine())
        batch = ds.add_table_asset(name="t", table_name="t").add_batch_definition_whole_table("b")
        try:
            return batch.get_batch().validate(suite, result_format={"result_format": "BASIC"})
        finally:
            close_datasource(ds)

    plain = run(lambda engine: None)
    assert all(raised_exception(r.exception_info) for r in plain.results)
    assert "list index out of range" in json.dumps(plain.results[0].exception_info)

    buffered_only = {r.expectation_config.type: r for r in run(buffer_results).results}
    not_null = buffered_only["expect_column_values_to_not_be_null"]
    assert not_null.result["unexpected_count"] == 3  # fix 1 alone mends the counts
    regex = buffered_only["expect_column_values_to_match_regex"]
    assert raised_exception(regex.exception_info)  # but regex still needs fix 2


def test_schema_qualified_table_and_clear_error_for_temporary_ones(gx):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute(
        "CREATE TABLE raw.fire AS SELECT 'FR-' || lpad(i::VARCHAR, 6, '0') AS record_id, "
        "sha256(i::VARCHAR) AS "
        "household_pid, DATE '2025-01-01' AS event_date, 'FALSE_ALARM' AS event_type, "
        "CASE WHEN i = 0 THEN 'ARSON' END AS cause" + _tokens("fire") + " FROM range(5) r(i)"
    )
    summary = validate_table(con, "raw.fire", "fire")
    assert [(o.rule, o.unexpected_count) for o in summary.failures] == [("allowed_values:cause", 1)]
    con.execute("CREATE TEMP TABLE scratch AS SELECT * FROM raw.fire")
    with pytest.raises(ValueError, match="cannot see temporary tables"):
        validate_table(con, "scratch", "fire")


def test_gx_is_never_given_the_unexpected_values(gx, monkeypatch):
    """GX's results can carry `partial_unexpected_list` and friends, i.e. received values: Hearth
    asks for counts only, so neither GX's own result nor Hearth's summary holds a value."""
    from great_expectations.datasource.fluent.interfaces import Batch

    seen = []
    original = Batch.validate

    def spy(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        seen.append(json.dumps(result.to_json_dict(), default=str))
        return result

    monkeypatch.setattr(Batch, "validate", spy)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE fire AS SELECT 'FR-' || lpad(i::VARCHAR, 6, '0') AS record_id, "
        "CASE WHEN i = 1 THEN '943 476 5919' ELSE sha256(i::VARCHAR) END AS household_pid, "
        "DATE '2025-01-01' AS event_date, 'FALSE_ALARM' AS event_type, "
        "CASE WHEN i = 0 THEN 'Mrs Jane Doe' END AS cause FROM range(5) r(i)"
    )
    summary = validate_table(con, "fire", "fire")
    assert {o.rule for o in summary.failures} >= {"allowed_values:cause"}
    said = seen[0] + repr(summary)
    assert "Jane" not in said and "943 476" not in said
