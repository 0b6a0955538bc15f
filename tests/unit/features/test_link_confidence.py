"""How surely records were linked, carried into the features and the reasons
(sql/features/event_counts.sql, sql/features/link_confidence.sql, the catalogue's
`link_confidence`, hearth/features/link_words.py:confidence_words), on the tiny hand-built warehouse
of test_features.py, its link probabilities set by hand as probabilistic linkage would leave
them.

- Every count adds up its records' link probabilities (expected counts); with exact keys
  everywhere (probability 1) the features are bit for bit what counting the records gave.
- The share of a household's records in the last 12 months linked below high confidence (0.9,
  said once in the catalogue), per source and over all, by expected count; 0 with none.
- Who may read a share follows from the contracts: its sources' keys and linkage tokens.
- A reason resting mostly on uncertain links says so, to the roles that may read the shares."""

from __future__ import annotations

import copy
import io

import duckdb
import polars as pl
import pytest
import yaml

from hearth import warehouse
from hearth.features.build import build_features
from hearth.features.catalogue import NO_EVENT_MONTHS, build_catalogue, load_catalogue
from hearth.features.link_words import confidence_words
from hearth.features.wording import say
from hearth.settings import SQL_DIR
from tests.unit.features.test_features import AS_OF, H1, H2, H3, row, tiny  # noqa: F401

SHARES = [
    "uncertain_share_12m",
    "health_uncertain_share_12m",
    "social_care_uncertain_share_12m",
    "fire_uncertain_share_12m",
    "police_uncertain_share_12m",
]

# sql/features/event_counts.sql as it was before link probabilities (main at 5649ad9): each
# record counted once. With every probability 1 the features must come out the same.
COUNTED = """
SELECT
    l.household_pid,
    m.feature_key,
    count(*) FILTER (WHERE l.event_date >= $as_of - INTERVAL 3 MONTH) AS c3,
    count(*) FILTER (WHERE l.event_date >= $as_of - INTERVAL 6 MONTH) AS c6,
    count(*) FILTER (WHERE l.event_date >= $as_of - INTERVAL 12 MONTH) AS c12,
    count(*) FILTER (WHERE l.event_date >= $as_of - INTERVAL 24 MONTH) AS c24,
    count(*) FILTER (
        WHERE l.event_date >= $as_of - INTERVAL 24 MONTH
          AND l.event_date < $as_of - INTERVAL 12 MONTH
    ) AS c12_before,
    count(*) AS c36,
    date_diff('month', max(l.event_date), $as_of) AS months_since
FROM linked_events l
JOIN feature_event_map m ON l.event_code = m.event_code
WHERE l.household_pid IS NOT NULL
  AND l.event_date < $as_of
  AND l.event_date >= $as_of - INTERVAL 36 MONTH
  AND l.arrival_month < $as_of_month
GROUP BY ALL
"""


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def _set_probability(con: duckdb.DuckDBPyConnection, record_id: str, p: float) -> None:
    con.execute("UPDATE linked_events SET link_probability = ? WHERE record_id = ?", [p, record_id])


def test_exact_links_give_the_counted_features_bit_for_bit(tiny, monkeypatch):  # noqa: F811
    con, _ = tiny
    assert con.sql("SELECT min(link_probability) FROM linked_events").fetchall()[0][0] == 1.0
    real_text = warehouse.sql_text

    def counted(name: str) -> str:
        return COUNTED if name == "features/event_counts" else real_text(name)

    for as_of in ("2024-07", AS_OF):
        after = build_features(con, as_of)
        monkeypatch.setattr(warehouse, "sql_text", counted)
        before = build_features(con, as_of)
        monkeypatch.setattr(warehouse, "sql_text", real_text)
        assert _parquet(after) == _parquet(before), as_of
        # nothing rests on an uncertain link
        assert after.select(SHARES).to_numpy().max() == 0.0
    # the counts are real, not all zero: Alice's two A&E attendances for breathing
    assert row(after, H1)["ae_respiratory_12m"] == 2.0


def test_each_record_counts_by_its_link_probability(tiny):  # noqa: F811
    con, _ = tiny
    _set_probability(con, "HL1", 0.95)  # Alice, A&E for breathing 2024-11-03
    _set_probability(con, "HL2", 0.5)  # Alice, A&E for breathing 2024-08-20
    _set_probability(con, "HL6", 0.9)  # Alice, a current smoker 2024-02-01: exactly high
    _set_probability(con, "PL1", 0.4)  # H1's domestic abuse incident 2024-07-01
    f = build_features(con, AS_OF)
    h1 = row(f, H1)
    assert h1["ae_respiratory_3m"] == pytest.approx(0.95)
    assert h1["ae_respiratory_12m"] == pytest.approx(1.45)
    assert h1["ae_respiratory_36m"] == pytest.approx(2.45)  # and HL3 (2023-05), exact
    assert h1["ae_respiratory_trend"] == pytest.approx(1.45 - 1.0)
    assert h1["breathing_records_12m"] == pytest.approx(1.45)
    assert h1["domestic_abuse_12m"] == pytest.approx(0.4)
    assert h1["smoker_recorded_12m"] == pytest.approx(0.9)
    # the latest record still dates "months since", however surely it was linked
    assert h1["ae_respiratory_months_since"] == 2.0
    # shares of the last 12 months' expected count below 0.9: a link at 0.9 is high
    assert h1["health_uncertain_share_12m"] == pytest.approx(0.5 / (0.95 + 0.5 + 0.9))
    assert h1["police_uncertain_share_12m"] == pytest.approx(1.0)
    assert h1["fire_uncertain_share_12m"] == 0.0 and h1["social_care_uncertain_share_12m"] == 0.0
    assert h1["uncertain_share_12m"] == pytest.approx(0.9 / (0.95 + 0.5 + 0.9 + 0.4))
    # other households are untouched
    for h in (H2, H3):
        assert all(row(f, h)[s] == 0.0 for s in SHARES)


def test_a_share_is_read_only_by_roles_that_may_read_how_records_were_linked():
    cat = load_catalogue()
    assert cat.confidence.high == 0.9
    # a link's confidence follows from its source's keys and linkage tokens, which the
    # contracts keep to the sending agency
    assert cat.by_name("police_uncertain_share_12m").roles == ("police",)
    assert cat.by_name("health_uncertain_share_12m").roles == ("health",)
    assert cat.by_name("uncertain_share_12m").roles == ()
    columns = cat.by_name("police_uncertain_share_12m").columns
    assert ("police", "given_token") in columns and ("police", "person_pid") in columns
    assert cat.by_name("police_uncertain_share_12m").monotone == 0
    # a model uses them (every model has 12 months of history), the police-only model its own
    assert "police_uncertain_share_12m" in cat.usable_names(12)
    assert "police_uncertain_share_12m" in cat.agency_features("police")
    assert "police_uncertain_share_12m" not in cat.agency_features("health")
    raw = yaml.safe_load((SQL_DIR / "features" / "catalogue.yaml").read_text(encoding="utf-8"))
    wrong = copy.deepcopy(raw)
    police = next(
        f for f in wrong["link_confidence"]["features"] if f["name"] == "police_uncertain_share_12m"
    )
    police["roles"] = ["commissioner", "police"]
    with pytest.raises(ValueError, match="police_uncertain_share_12m says roles"):
        build_catalogue(wrong)
    no_high = copy.deepcopy(raw)
    no_high["link_confidence"]["high"] = 1.5
    with pytest.raises(ValueError, match="high must be a share between 0 and 1"):
        build_catalogue(no_high)


def _household(cat, **values: float) -> dict[str, float]:
    base = {f.name: float(NO_EVENT_MONTHS) if f.kind == "recency" else 0.0 for f in cat.features}
    return base | values


def test_a_reason_resting_mostly_on_uncertain_links_says_so():
    cat = load_catalogue()
    mostly = _household(
        cat,
        asb_12m=2.0,
        asb_months_since=3.0,
        police_uncertain_share_12m=0.75,
        uncertain_share_12m=0.75,
    )
    said = "2 anti-social behaviour reports in the last 12 months, linked with moderate confidence"
    assert say(cat, "asb_12m", mostly) == said
    assert say(cat, "asb_12m", mostly, role="police") == said
    assert say(cat, "asb_months_since", mostly, role="police") == (
        "latest anti-social behaviour report 3 months ago, linked with moderate confidence"
    )
    # a commissioner may read the records but not how surely they were linked
    assert say(cat, "asb_12m", mostly, role="commissioner") == (
        "2 anti-social behaviour reports in the last 12 months"
    )
    # half is not mostly
    half = mostly | {"police_uncertain_share_12m": 0.5}
    assert say(cat, "asb_12m", half) == "2 anti-social behaviour reports in the last 12 months"
    # exact links say nothing more
    exact = mostly | {"police_uncertain_share_12m": 0.0}
    assert confidence_words(cat, "asb_12m", exact) == ""
    # a theme over two agencies is judged on both, each by its own share: 1 police record
    # uncertain beside 3 exact health records is not mostly uncertain; 3 uncertain is
    theme = _household(
        cat,
        mental_health_records_12m=4.0,
        welfare_concern_12m=1.0,
        mental_health_contact_12m=3.0,
        police_uncertain_share_12m=1.0,
    )
    assert confidence_words(cat, "mental_health_records_12m", theme) == ""
    theme |= {"welfare_concern_12m": 3.0, "mental_health_contact_12m": 1.0}
    assert confidence_words(cat, "mental_health_records_12m", theme) == (
        ", linked with moderate confidence"
    )
    # ...and only to a role that may read how every one of those sources was linked
    assert confidence_words(cat, "mental_health_records_12m", theme, "police") == ""
    # the shares themselves are never a reason
    assert say(cat, "police_uncertain_share_12m", mostly) is None
    assert say(cat, "uncertain_share_12m", mostly) is None
