"""Area names (issue 16, point 1): the lookup in landing/reference/areas.csv, checked against its
own contract; names beside codes in the list, the role views and the report; a code with no
name shown as the code and counted."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from hearth.ingest.landing import inventory
from hearth.publish.areas import (
    NAME_MAX,
    area_lookup_file,
    check_area_rows,
    name_areas,
    names_sentence,
    read_area_lookup,
)
from hearth.publish.ranked import PUBLIC_COLUMNS, area_counts, with_area_names
from hearth.publish.roles import role_view, visible_columns
from hearth.quality.contracts import CONTRACTS_DIR, load_reference_contract
from hearth.sources import REFERENCES
from tests.unit.publish.test_deliver_units import _ranked

GOOD = (
    "area_code,area_type,area_name\n"
    "E06000901,LA,Northmoor\n"
    "E06000902,LA,Easthaven\n"
    "E05901001,WARD,Ashby\n"
    "E01900001,LSOA,Northmoor 001\n"
)


def _lookup(tmp_path, text: str, encoding: str = "utf-8"):
    path = area_lookup_file(tmp_path / "landing")
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode(encoding))
    return read_area_lookup(path)


def test_the_contract_loads_and_agrees_with_the_reader():
    c = load_reference_contract("areas")
    assert c.column_names == REFERENCES["areas"].columns
    data = yaml.safe_load((CONTRACTS_DIR / "reference" / "areas.yaml").read_text())
    props = {p["name"]: p for p in data["schema"][0]["properties"]}
    assert props["area_name"]["logicalTypeOptions"]["maxLength"] == NAME_MAX
    assert c.column("area_code").unique and c.column("area_code").pattern


def test_a_good_lookup_names_the_areas(tmp_path):
    lookup = _lookup(tmp_path, GOOD)
    assert lookup.status == "used" and lookup.rows_received == 4 and lookup.rows_not_used == {}
    assert lookup.name_of("LA") == {"E06000901": "Northmoor", "E06000902": "Easthaven"}
    assert lookup.name_of("WARD") == {"E05901001": "Ashby"}


def test_headers_saved_by_a_spreadsheet_are_read(tmp_path):
    text = "\ufeffArea_Code, AREA_TYPE ,area_name,ObjectId\nE06000901,LA,  Northmoor   Town ,1\n"
    lookup = _lookup(tmp_path, text)
    assert lookup.status == "used" and lookup.name_of("LA") == {"E06000901": "Northmoor Town"}


@pytest.mark.parametrize(
    "row, rule",
    [
        (",LA,Nowhere", "required:area_code"),
        ("E0690090,LA,Nowhere", "pattern:area_code"),
        ("e06000909,LA,Nowhere", "pattern:area_code"),
        ("E06000909,,Nowhere", "required:area_type"),
        ("E06000909,COUNTY,Nowhere", "allowed_values:area_type"),
        ("E06000909,LA,", "required:area_name"),
        ("E06000909,LA,   ", "required:area_name"),
        ("E06000909,LA,=HYPERLINK(1)", "plain_text:area_name"),
        ("E06000909,LA,@SUM", "plain_text:area_name"),
        ("E06000909,LA,-1", "plain_text:area_name"),
        (f"E06000909,LA,{'x' * (NAME_MAX + 1)}", "plain_text:area_name"),
        ("E06000901,LA,Northmoor Again", "unique:area_code"),
        ("E06000901,LA,Northmoor", "repeated_row"),
    ],
)
def test_each_rule_holds_back_the_rows_that_break_it(tmp_path, row, rule):
    lookup = _lookup(tmp_path, GOOD + row + "\n")
    assert lookup.status == "used" and lookup.rows_received == 5
    held = 2 if rule == "unique:area_code" else 1  # a code named twice: neither name is used
    assert lookup.rows_not_used == {rule: held}
    kept = lookup.names.height
    assert kept == (3 if rule == "unique:area_code" else 4)
    if rule == "unique:area_code":
        assert "E06000901" not in lookup.name_of("LA")
    assert "E06000909" not in lookup.name_of("LA")


def test_a_name_at_the_limit_and_with_punctuation_is_kept():
    frame = pl.DataFrame(
        {
            "area_code": ["E06000901", "E05901001"],
            "area_type": ["LA", "WARD"],
            "area_name": ["x" * NAME_MAX, "St. Mary's & All Saints (North)"],
        }
    )
    kept, not_used = check_area_rows(frame)
    assert kept.height == 2 and not_used == {}


@pytest.mark.parametrize(
    "text, encoding, says",
    [
        ("area_code,area_name\nE06000901,Northmoor\n", "utf-8", "column 'area_type' is missing"),
        ("LSOA21CD,LSOA21NM\nE01000001,City of London 001A\n", "utf-8", "'area_code' is missing"),
        ("area_code,area_type,area_name\n", "utf-8", "holds no rows"),
        ("area_code,area_type,area_name\nE06000901,LA,Ynys Môn\n", "cp1252", "UTF-8 CSV"),
    ],
)
def test_a_file_that_breaks_its_contract_is_refused_in_a_sentence(tmp_path, text, encoding, says):
    lookup = _lookup(tmp_path, text, encoding)
    assert lookup.status == "refused" and lookup.names.height == 0
    assert says in lookup.problem and lookup.problem.startswith("reference/areas.csv: ")
    assert "data_contracts/reference/areas.yaml" in lookup.problem
    assert "Northmoor" not in lookup.problem and "Môn" not in lookup.problem  # never a value
    assert lookup.problem in names_sentence(name_areas(_ranked([[None] * 3]), lookup)[1])


def test_no_lookup_leaves_codes(tmp_path):
    lookup = read_area_lookup(area_lookup_file(tmp_path / "landing"))
    ranked, summary = name_areas(_ranked([[None] * 3] * 2), lookup)
    assert lookup.status == "missing" and ranked["la_name"].to_list() == ["E06000901"] * 2
    assert summary["codes_shown_as_code"] == 3  # one LA, one ward, one LSOA
    assert "no area names lookup" in names_sentence(summary)


def test_names_beside_codes_and_a_code_without_a_name_is_shown_as_the_code(tmp_path):
    lookup = _lookup(tmp_path, GOOD)
    ranked = _ranked([[None] * 3] * 4).with_columns(
        pl.Series("la_code", ["E06000901", "E06000902", "E06000903", "E06000901"]),
        pl.Series("ward_code", ["E05901001", "E05901002", "E05901001", "E05901001"]),
    )
    named, summary = name_areas(ranked, lookup)
    assert named["la_name"].to_list() == ["Northmoor", "Easthaven", "E06000903", "Northmoor"]
    assert named["ward_name"].to_list() == ["Ashby", "E05901002", "Ashby", "Ashby"]
    assert named["lsoa_name"].to_list() == ["Northmoor 001"] * 4
    assert summary["codes"]["LA"] == {"on_list": 3, "named": 2, "shown_as_code": 1}
    assert summary["codes"]["WARD"] == {"on_list": 2, "named": 1, "shown_as_code": 1}
    assert summary["codes_shown_as_code"] == 2 and summary["status"] == "used"
    sentence = names_sentence(summary)
    assert "2 of 3 local authorities named (1 shown as their code)" in sentence
    assert "all 1 LSOAs named" in sentence
    # the list, its area counts and every role's view carry the names beside the codes
    assert {"la_name", "ward_name"} <= set(PUBLIC_COLUMNS)
    assert PUBLIC_COLUMNS.index("la_name") + 1 == PUBLIC_COLUMNS.index("la_code")
    areas = area_counts(named)
    assert areas.filter(pl.col("ward_code") == "E05901001")["ward_name"].to_list() == ["Ashby"] * 2
    for role in ("commissioner", "fire", "police"):
        view = role_view(named, role)
        assert {"la_name", "ward_name", "lsoa_name"} <= set(view.columns)
        assert view.columns == visible_columns(role)
        assert view["la_name"].to_list() == named["la_name"].to_list()


def test_a_list_without_names_gets_its_codes_as_names_once():
    ranked = _ranked([[None] * 3])
    named = with_area_names(ranked)
    assert named["la_name"].to_list() == named["la_code"].to_list()
    again = with_area_names(named.with_columns(pl.lit("Kept").alias("la_name")))
    assert again["la_name"].to_list() == ["Kept"]


def test_the_landing_inventory_knows_the_reference_folder(tmp_path):
    landing = tmp_path / "landing"
    ref = area_lookup_file(landing)
    ref.parent.mkdir(parents=True)
    ref.write_text(GOOD)
    (ref.parent / "wards_2024.xlsx").write_bytes(b"PK")
    (ref.parent / ".DS_Store").write_bytes(b"\0")
    inv = inventory(landing)
    named = {u.path: u for u in inv.unread}
    assert "reference/areas.csv" not in named and "reference" not in named
    assert set(named) == {"reference/wards_2024.xlsx", "reference/.DS_Store"}
    assert not any(u.blocking for u in inv.unread)  # no extract's rows can be in it
    assert "reference/areas.csv" in named["reference/wards_2024.xlsx"].why
    assert inv.extracts == []
