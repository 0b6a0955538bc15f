"""The expectation suites as blocking Dagster asset checks on every ingested source, run with GX
in DuckDB on the accepted rows of the months in the run."""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg
import pytest

from hearth.ingest.landing import Extract
from hearth.ingest.load import ingest_extract
from hearth.quality.contracts import load_contract
from hearth.quality.suite_check import check_accepted_rows, suite_for_accepted_rows
from hearth.settings import PROJECT_ROOT
from hearth.sources import SOURCES
from hearth.warehouse import connect
from tests.support.quality_corpus import MONTHS


@pytest.fixture(scope="module")
def loaded(quality_world, tmp_path_factory):
    """A warehouse with every month of every source of the valid world loaded."""
    path = tmp_path_factory.mktemp("quality_checks") / "warehouse.duckdb"
    with connect(path) as con:
        for source in SOURCES:
            contract = load_contract(source)
            for m in MONTHS:
                r = ingest_extract(con, contract, Extract(source, m, quality_world.path(source, m)))
                assert r.status == "loaded", r.message
    return path


def test_every_source_has_a_blocking_expectations_check():
    from hearth.definitions import defs

    d = defs()
    graph = d.resolve_asset_graph()
    for source in SOURCES:
        key = dg.AssetCheckKey(dg.AssetKey(f"{source}_extract"), "expectations")
        assert key in graph.asset_check_keys
        spec = graph.get_check_spec(key)
        assert spec.blocking and f"expectations/{source}.json" in spec.description
    # `hearth run` materialises the whole job: the checks are steps of it
    nodes = set(d.resolve_job_def("hearth_full_run").graph.node_names())
    assert "quality_gate" in nodes


def test_loading_the_checks_does_not_import_gx():
    # GX takes seconds to import: the check modules import it only when a check runs
    code = (
        "import sys, hearth.defs.quality.checks, hearth.quality.suite_check; "
        "print('great_expectations' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_registers_check_unique_columns_within_each_month():
    addresses = {e["meta"]["rule"]: e for e in suite_for_accepted_rows("addresses")["expectations"]}
    assert addresses["unique:household_pid"]["type"] == "expect_compound_columns_to_be_unique"
    assert addresses["unique:household_pid"]["kwargs"] == {
        "column_list": ["household_pid", "_extract_month"]
    }
    health = {e["meta"]["rule"]: e for e in suite_for_accepted_rows("health")["expectations"]}
    assert health["unique:record_id"]["type"] == "expect_column_values_to_be_unique"


def test_accepted_rows_meet_their_suites(loaded):
    with connect(loaded) as con:
        results = {s: check_accepted_rows(con, s, list(MONTHS[1:])) for s in SOURCES}
        every = check_accepted_rows(con, "addresses")  # no months given: every loaded month
    for source, r in results.items():
        assert r.passed, r.describe()
        assert r.months == MONTHS[1:]
        md = r.metadata()
        assert md["expectations_failed"] == 0 and md["rows_checked"] == r.rows > 0
        assert md["first_month"] == MONTHS[1] and md["last_month"] == MONTHS[-1]
        assert r.describe().startswith(f"{source}: {r.rows} accepted rows (months ")
    # the registers' households repeat across months and still pass
    assert every.passed and every.months == MONTHS


def test_rows_that_got_past_the_gate_fail_the_check_without_values(loaded, tmp_path):
    path = tmp_path / "tampered.duckdb"
    path.write_bytes(loaded.read_bytes())
    with connect(path) as con:
        # what a gap in the row rules would let through: an unknown code and a repeated id
        con.execute(
            "INSERT INTO raw_health SELECT * REPLACE ('TELEPATHY' AS event_type) "
            "FROM raw_health WHERE _extract_month = '2025-12' LIMIT 3"
        )
        r = check_accepted_rows(con, "health", ["2025-11", "2025-12"])
        earlier = check_accepted_rows(con, "health", ["2025-10"])
    assert not r.passed and earlier.passed
    failed = {o.rule: o.unexpected_count for o in r.summary.failures}
    assert failed == {"allowed_values:event_type": 3, "unique:record_id": 6}
    text = r.describe()
    assert text.startswith("health: accepted rows (months 2025-11 to 2025-12) break 2 of")
    assert "allowed_values:event_type (3 rows)" in text
    assert "TELEPATHY" not in text + json.dumps(r.metadata())
