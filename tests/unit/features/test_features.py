"""Linkage and point-in-time features on a tiny hand-made warehouse, against values worked out
by hand. Rows are inserted straight into the raw tables, as ingest would leave them."""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import polars as pl
import pytest

from hearth.features.build import build_feature_sets, build_features, build_labels, theme_columns
from hearth.features.catalogue import load_catalogue
from hearth.features.design import Design, require_history
from hearth.linkage.link import link, linkage_by_month, linkage_by_source
from hearth.warehouse import connect


def pid(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


H1, H2, H3 = pid("h1"), pid("h2"), pid("h3")
ALICE, BOB, CARL, DORA, EVE = (pid(n) for n in ("alice", "bob", "carl", "dora", "eve"))
AS_OF = "2025-01"  # features from events before 2025-01-01 that arrived in extracts before 2025-01


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    cols = con.table(table).columns
    frame = pl.DataFrame(
        [{c: r.get(c) for c in cols} for r in rows],
        schema_overrides={c: pl.Date for c in ("event_date", "effective_date", "updated_date")}
        | {c: pl.Int64 for c in ("imd_decile", "birth_year", "_row_number")},
        strict=False,
    )
    frame = frame.select(cols)
    con.register("rows_in", frame)
    con.table("rows_in").insert_into(table)
    con.unregister("rows_in")


def address(h: str, decile: int, tenure: str = "SOCIAL_RENTED", ptype: str = "FLAT") -> dict:
    return dict(
        household_pid=h,
        la_code="E06000901",
        ward_code="E05000001",
        lsoa_code="E01000001",
        imd_decile=decile,
        property_type=ptype,
        tenure=tenure,
        updated_date=date(2022, 1, 1),
        _row_number=1,
        _extract_month="2023-01",
    )


def person(p: str, h: str | None, born: int, when: date, arrived: str, status="RESIDENT") -> dict:
    return dict(
        person_pid=p,
        household_pid=h,
        birth_year=born,
        sex="F",
        ethnic_group="WHITE",
        status=status,
        effective_date=when,
        _row_number=1,
        _extract_month=arrived,
    )


def event(table_row: dict, when: date, arrived: str, rid: str) -> dict:
    return dict(table_row, record_id=rid, event_date=when, _row_number=1, _extract_month=arrived)


@pytest.fixture
def tiny(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        _insert(
            con,
            "raw_addresses",
            [address(H1, 2), address(H2, 9, "OWNER_OCCUPIED", "HOUSE"), address(H3, 5)],
        )
        _insert(
            con,
            "raw_people",
            [
                person(ALICE, H1, 1951, date(2010, 1, 1), "2023-01"),  # 74 in 2025: not over 75
                person(BOB, H1, 2015, date(2015, 1, 1), "2023-01"),  # a child
                person(
                    CARL, H2, 1940, date(2000, 1, 1), "2023-01"
                ),  # over 75, alone after Dora moves
                # Dora lived in H2, moved to H3 on 2024-06-15 (recorded that month)
                person(DORA, H2, 1980, date(2005, 1, 1), "2023-01"),
                person(DORA, H3, 1980, date(2024, 6, 15), "2024-06"),
                # Eve lived in H3 and left the area on 2024-03-01
                person(EVE, H3, 1990, date(2012, 1, 1), "2023-01"),
                person(EVE, None, 1990, date(2024, 3, 1), "2024-03", status="LEFT_AREA"),
            ],
        )
        health = dict(
            person_pid=None, event_type=None, category=None, condition=None, smoking_status=None
        )
        _insert(
            con,
            "raw_health",
            [
                # Alice: A&E for breathing 2, 5 and 20 months before the as-of date
                event(
                    health
                    | dict(person_pid=ALICE, event_type="AE_ATTENDANCE", category="RESPIRATORY"),
                    date(2024, 11, 3),
                    "2024-11",
                    "HL1",
                ),
                event(
                    health
                    | dict(person_pid=ALICE, event_type="AE_ATTENDANCE", category="RESPIRATORY"),
                    date(2024, 8, 20),
                    "2024-08",
                    "HL2",
                ),
                event(
                    health
                    | dict(person_pid=ALICE, event_type="AE_ATTENDANCE", category="RESPIRATORY"),
                    date(2023, 5, 1),
                    "2023-05",
                    "HL3",
                ),
                # ...one on the as-of date itself (a label-window event, never a feature)
                event(
                    health
                    | dict(
                        person_pid=ALICE, event_type="EMERGENCY_ADMISSION", category="RESPIRATORY"
                    ),
                    date(2025, 1, 1),
                    "2025-01",
                    "HL4",
                ),
                # ...one dated before the as-of date that arrived late, in the as-of month's extract
                event(
                    health
                    | dict(person_pid=ALICE, event_type="AE_ATTENDANCE", category="RESPIRATORY"),
                    date(2024, 12, 28),
                    "2025-01",
                    "HL5",
                ),
                # Alice is a recorded smoker
                event(
                    health
                    | dict(person_pid=ALICE, event_type="SMOKING_STATUS", smoking_status="CURRENT"),
                    date(2024, 2, 1),
                    "2024-02",
                    "HL6",
                ),
                # Dora's mental health contacts: one while in H2, one after moving to H3
                event(
                    health | dict(person_pid=DORA, event_type="MENTAL_HEALTH_CONTACT"),
                    date(2024, 3, 1),
                    "2024-03",
                    "HL7",
                ),
                event(
                    health | dict(person_pid=DORA, event_type="MENTAL_HEALTH_CONTACT"),
                    date(2024, 9, 1),
                    "2024-09",
                    "HL8",
                ),
                # Eve after leaving the area: no household at that date
                event(
                    health | dict(person_pid=EVE, event_type="AE_ATTENDANCE", category="OTHER"),
                    date(2024, 5, 1),
                    "2024-05",
                    "HL9",
                ),
                # a person nobody knows
                event(
                    health
                    | dict(
                        person_pid=pid("stranger"), event_type="AE_ATTENDANCE", category="OTHER"
                    ),
                    date(2024, 5, 1),
                    "2024-05",
                    "HL10",
                ),
            ],
        )
        police = dict(
            person_pid=None, household_pid=None, event_type="DOMESTIC_ABUSE", risk_level="STANDARD"
        )
        _insert(
            con,
            "raw_police",
            [
                event(police | dict(household_pid=H1), date(2024, 7, 1), "2024-07", "PL1"),
                event(police | dict(person_pid=BOB), date(2023, 7, 1), "2023-07", "PL2"),
                event(police, date(2024, 7, 1), "2024-07", "PL3"),  # no key at all
                # an unknown household key with a known person: linked through the person
                event(
                    police | dict(household_pid=pid("nowhere"), person_pid=CARL),
                    date(2024, 2, 1),
                    "2024-02",
                    "PL4",
                ),
                # a high-risk incident in the label window
                event(
                    police | dict(household_pid=H2, risk_level="HIGH"),
                    date(2025, 6, 1),
                    "2025-06",
                    "PL5",
                ),
            ],
        )
        _insert(
            con,
            "raw_fire",
            [
                event(
                    dict(household_pid=H3, event_type="SMOKE_ALARM_FITTED", cause=None),
                    date(2024, 1, 10),
                    "2024-01",
                    "FR1",
                ),
                # a fire in the 12 months after the as-of date but outside the label year
                event(
                    dict(household_pid=H3, event_type="DWELLING_FIRE", cause="COOKING"),
                    date(2026, 1, 1),
                    "2026-01",
                    "FR2",
                ),
            ],
        )
        # the first extract loaded is health's of 2023-01: 24 months of history at AS_OF, so the
        # 3-year window is kept per 2 years over 24 months, the same number as its count
        # (hearth/features/windows.py: rate_scale)
        con.execute(
            "INSERT INTO ingest_log VALUES ('health', '2023-01', 'health_2023-01.csv', 'x', 1, 1, "
            "0, 'loaded', NULL, now())"
        )
        summary = link(con)
        yield con, summary


def row(frame: pl.DataFrame, h: str) -> dict:
    return frame.filter(pl.col("household_pid") == h).row(0, named=True)


def test_linkage_reasons_and_counts(tiny):
    _, summary = tiny
    by = linkage_by_source(summary)
    assert by["health"]["linked"] == 8
    assert by["health"]["unlinked_by_reason"] == {"no_household_at_date": 1, "unknown_pid": 1}
    assert by["police"]["events"] == 5
    assert by["police"]["linked_by"] == {"linked_by_household_key": 2, "linked_by_person_key": 2}
    assert by["police"]["unlinked_by_reason"] == {"no_key": 1}
    assert by["fire"]["linkage_rate"] == 1.0
    months = {(r["source"], r["extract_month"]): r for r in linkage_by_month(summary)}
    july = months[("police", "2024-07")]
    assert (july["events"], july["linked"], july["linkage_rate"]) == (2, 1, 0.5)
    assert july["unlinked_by_reason"] == {"no_key": 1}
    assert months[("health", "2024-05")]["unlinked_by_reason"] == {
        "no_household_at_date": 1,
        "unknown_pid": 1,
    }


def test_person_who_moved_counts_in_the_right_household(tiny):
    con, _ = tiny
    events = con.sql(
        "SELECT record_id, household_pid FROM linked_events WHERE source = 'health'"
    ).pl()
    where = dict(events.iter_rows())
    assert where["HL7"] == H2 and where["HL8"] == H3
    feats = build_features(con, AS_OF)
    assert row(feats, H2)["mental_health_contact_12m"] == 1
    assert row(feats, H3)["mental_health_contact_12m"] == 1
    # before she moved, on 2024-06-01, she lived in H2; H3 stood empty (Eve had left the area)
    # and an empty household is not scored
    before = build_features(con, "2024-06")
    assert row(before, H2)["residents"] == 2
    assert H3 not in before["household_pid"].to_list()


def test_counts_windows_trend_and_recency_by_hand(tiny):
    con, _ = tiny
    f = row(build_features(con, AS_OF), H1)
    # A&E for breathing: 2024-11-03 (2 months back), 2024-08-20 (5), 2023-05-01 (20);
    # 2024-12-28 arrived in January's extract and 2025-01-01 is the as-of date: neither counts.
    assert (f["ae_respiratory_3m"], f["ae_respiratory_12m"], f["ae_respiratory_36m"]) == (1, 2, 3)
    assert f["ae_respiratory_trend"] == 2 - 1
    assert f["ae_respiratory_months_since"] == 2
    assert f["admission_respiratory_36m"] == 0
    assert f["ae_fall_months_since"] == 99
    # household: Alice (born 1950) and Bob (born 2015)
    assert (f["residents"], f["children"], f["over_75s"], f["lives_alone"]) == (2, 1, 0, 0)
    assert f["oldest_age"] == 74 and f["imd_decile"] == 2
    assert f["social_rented"] == 1 and f["flat"] == 1
    # police: H1 key in 2024-07 and Bob's incident in 2023-07
    assert f["domestic_abuse_12m"] == 1 and f["domestic_abuse_36m"] == 2
    assert f["abuse_with_children"] == 1
    # a smoker recorded in the last year with no smoke alarm fitted in it
    assert f["smoker_without_alarm"] == 1
    assert f["agencies_involved_12m"] == 2  # health and police


def test_only_the_past_counts(tiny):
    con, _ = tiny
    f = build_features(con, AS_OF)
    h2 = row(f, H2)
    # Carl lives alone after Dora moved; his only event in the future (high-risk DA 2025-06)
    assert h2["residents"] == 1 and h2["lives_alone"] == 1 and h2["over_75s"] == 1
    assert h2["domestic_abuse_high_36m"] == 0
    h3 = row(f, H3)
    assert h3["smoker_without_alarm"] == 0 and h3["smoke_alarm_fitted_36m"] == 1
    assert h3["fire_other_36m"] == 0
    # the late record is used once it has arrived
    later = row(build_features(con, "2025-02"), H1)
    assert later["ae_respiratory_12m"] == 3


def test_labels_start_where_features_stop(tiny):
    con, _ = tiny
    f = build_features(con, AS_OF)
    y = dict(zip(f["household_pid"], build_labels(con, f["household_pid"], AS_OF), strict=True))
    # H1: admission on the as-of date is in the label window (and in no feature)
    assert y[H1] == 1 and row(f, H1)["admission_respiratory_36m"] == 0
    assert y[H2] == 1  # high-risk domestic abuse in 2025-06
    assert y[H3] == 0  # the fire on 2026-01-01 is after the 12 months
    design = Design.for_scoring("2026-01")
    assert (design.train_as_of, design.valid_as_of) == ("2024-01", "2025-01")


def test_themes_add_up_their_record_kinds_across_agencies(tiny):
    con, _ = tiny
    cat = load_catalogue()
    f = build_features(con, AS_OF)
    h1 = row(f, H1)
    # breathing: the A&E attendances (no COPD register record or admission before the as-of date)
    assert (h1["breathing_records_3m"], h1["breathing_records_12m"]) == (1, 2)
    assert h1["breathing_records_36m"] == 3 and h1["breathing_records_months_since"] == 2
    # domestic abuse: the two police incidents (the theme also counts child safeguarding)
    assert h1["domestic_abuse_records_36m"] == 2
    # Dora's mental health contact in H3 after her move
    assert row(f, H3)["mental_health_records_12m"] == 1
    for theme in cat.themes:
        members = cat.theme_members(theme)
        for w in cat.windows:
            expected = f.select(pl.sum_horizontal([f"{k}_{w}m" for k in members])).to_series()
            assert f[f"{theme}_{w}m"].to_list() == expected.to_list()
    # The same themes as the police alone could count them: no health records in them.
    police_only = f.with_columns(theme_columns(cat, {"police"}))
    p1 = row(police_only, H1)
    assert p1["breathing_records_36m"] == 0 and p1["breathing_records_months_since"] == 99
    assert p1["domestic_abuse_records_36m"] == 2 and p1["mental_health_records_12m"] == 0
    assert "breathing_records_12m" not in cat.agency_features("police")
    assert "domestic_abuse_records_12m" in cat.agency_features("police")
    assert "breathing_records_12m" in cat.agency_features("health")
    # Who may read a theme whole: whoever the contracts let read every column of every kind
    # of record in it (clinical detail stays with health and social care; a commissioner may
    # read domestic abuse, every risk level of it, but not high-risk domestic abuse alone).
    assert cat.by_name("breathing_records_12m").roles == ("social_care", "health")
    assert cat.by_name("crisis_records_12m").roles == ("social_care", "health")
    assert "commissioner" in cat.by_name("domestic_abuse_records_12m").roles


def test_too_little_history_before_the_training_date_is_refused_in_words(tiny):
    con, _ = tiny  # the first health extract loaded is 2023-01's (the fixture's ingest log)
    with pytest.raises(ValueError) as err:
        build_feature_sets(con, Design.for_scoring("2025-01"))
    msg = str(err.value)
    assert "trains on households as at 2023-01" in msg
    assert "needs 25 months of extracts" in msg and "start at 2023-01, 24 months" in msg
    require_history(con, Design.for_scoring("2025-02"))  # a month before 2023-02: enough


def test_the_catalogue_agencies_are_worked_out_once_and_stay_sorted():
    cat = load_catalogue()
    want = sorted({f.agency for f in cat.features} - {"register", "combined"})
    got = cat.agencies
    assert got == want and "register" not in got and "combined" not in got
    got.append("someone else")  # a caller's copy: the next caller sees the catalogue's own
    assert cat.agencies == want
