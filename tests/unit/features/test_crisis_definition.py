"""One crisis definition (issue 24): the contracts' `crisisEvents`. The labels (linked_events'
is_crisis, made by the real linkage SQL), the catalogue's crisis theme and the synthetic world's
crisis keys all read it, and agree with each other and with DESIGN.md's list."""

from __future__ import annotations

from datetime import date

import polars as pl

from hearth.features.build import as_of_params
from hearth.features.catalogue import load_catalogue
from hearth.linkage.link import link
from hearth.sources import SOURCES
from hearth.synth import params as P
from hearth.warehouse import connect, query

# DESIGN.md, "labels": emergency admission, dwelling fire, high-risk domestic abuse, child
# protection plan or becoming looked after.
DESIGN_CRISES = {
    "health:EMERGENCY_ADMISSION:RESPIRATORY",
    "health:EMERGENCY_ADMISSION:FALL",
    "health:EMERGENCY_ADMISSION:MENTAL_HEALTH",
    "health:EMERGENCY_ADMISSION:SUBSTANCE",
    "health:EMERGENCY_ADMISSION:OTHER",
    "fire:DWELLING_FIRE:SMOKING_MATERIALS",
    "fire:DWELLING_FIRE:CLUTTER",
    "fire:DWELLING_FIRE:COOKING",
    "fire:DWELLING_FIRE:ELECTRICAL",
    "fire:DWELLING_FIRE:OTHER",
    "police:DOMESTIC_ABUSE:HIGH",
    "social_care:CHILDREN:CP_PLAN",
    "social_care:CHILDREN:LOOKED_AFTER",
}
HOUSEHOLD = "a" * 64


def _one_row_per_key(con) -> None:
    """One accepted event of each kind of record the synthetic world makes, in its source's raw
    table, at one known household, dated 2025-06."""
    for source in {k.source for k in P.KEYS}:
        cols = SOURCES[source].columns
        rows = []
        for i, key in enumerate(k for k in P.KEYS if k.source == source):
            row = dict.fromkeys(cols)
            row |= dict(key.attrs)
            row |= {"record_id": f"{source}-{i}", "event_date": date(2025, 6, 15)}
            row |= {"event_type": key.event_type, "_row_number": i, "_extract_month": "2025-06"}
            if "household_pid" in cols:
                row["household_pid"] = HOUSEHOLD
            if "person_pid" in cols:
                row["person_pid"] = "b" * 64
            rows.append(row)
        schema = con.table(f"raw_{source}").limit(0).pl().schema
        con.register("rows", pl.DataFrame(rows, schema=schema))
        con.table("rows").insert_into(f"raw_{source}")
        con.unregister("rows")
    con.execute(
        "INSERT INTO raw_addresses (household_pid, updated_date, _extract_month) "
        "VALUES (?, DATE '2024-01-01', '2024-01')",
        [HOUSEHOLD],
    )
    con.execute(
        "INSERT INTO raw_people (person_pid, household_pid, status, effective_date, "
        "_extract_month) VALUES (?, ?, 'RESIDENT', DATE '2024-01-01', '2024-01')",
        ["b" * 64, HOUSEHOLD],
    )


def test_labels_theme_and_synthetic_world_read_one_crisis_definition(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        _one_row_per_key(con)
        link(con)
        labelled = dict(con.sql("SELECT event_code, is_crisis FROM linked_events").fetchall())
        labels = query(con, "features/labels", as_of_params("2025-01")).pl()
    crises = labels.select("household_pid", "crises").rows()
    synth = {k.code: k.crisis for k in P.KEYS}
    # the labels' SQL makes the same codes the synthetic world's keys say, and the same crises
    assert labelled == synth
    assert {c for c, crisis in labelled.items() if crisis} == DESIGN_CRISES
    assert crises == [(HOUSEHOLD, len(DESIGN_CRISES))]
    # the catalogue's crisis theme counts exactly the crisis codes
    cat = load_catalogue()
    codes_of = {}
    for code, key in cat.event_codes:
        codes_of.setdefault(key, set()).add(code)
    theme = set().union(*(codes_of[k] for k in cat.theme_members("crisis_records")))
    assert {c for c in theme if c in synth} == DESIGN_CRISES
    others = set().union(
        *(v for k, v in codes_of.items() if k not in cat.theme_members("crisis_records"))
    )
    assert not {c for c in others if labelled.get(c)}
