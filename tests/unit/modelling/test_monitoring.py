"""Monitoring between months (hearth/modelling/scoring/monitoring.py) against hand-computed values:
the PSI, the
overlap of the top 1% and 5% with last month's and why households entered or left, the
records and moves that count as changes, and the kept ranking and report."""

from datetime import date

import duckdb
import numpy as np
import polars as pl
import pytest

from hearth.modelling.scoring.monitoring import (
    PSI_FLOOR,
    _changes,
    load_report,
    monitor,
    monitoring_metrics,
    overlap,
    previous_ranking,
    psi,
    store,
)


def test_psi_by_hand_on_few_values():
    ref = np.array([0] * 50 + [1] * 50)
    cur = np.array([0] * 25 + [1] * 75)
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    assert psi(ref, cur) == pytest.approx(0.25 * np.log(2) + 0.25 * np.log(1.5))
    assert psi(ref, ref) == 0.0
    # a value the reference never had falls in the bin below it (here: 1s)
    assert psi(ref, np.array([0] * 50 + [7] * 50)) == 0.0


def test_psi_by_hand_on_deciles():
    ref = np.arange(100, dtype=float)  # deciles at 9.9, 19.8, ... 89.1
    assert psi(ref, ref.copy()) == pytest.approx(0.0)
    # the lower half only: five bins of 0.2 against 0.1, five empty bins floored
    expected = 5 * 0.1 * np.log(2) + 5 * (PSI_FLOOR - 0.1) * np.log(PSI_FLOOR / 0.1)
    assert psi(ref, np.arange(50, dtype=float)) == pytest.approx(expected)


def ranking(pids: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"household_pid": pids, "rank": list(range(1, len(pids) + 1)), "score": 0.5}
    )


def test_overlap_and_why_households_entered_or_left():
    base = [f"h{i:03d}" for i in range(200)]
    # last month: h000, h050 in the top 1% (2 of 200); this month: h000, h001 ... and n001,
    # a household new to the list, ranks 3rd (inside the top 5%, 10 of 200)
    previous = ranking(["h000", "h050", *[p for p in base if p not in ("h000", "h050")]])
    now_order = ["h000", "h001", "n001", *[p for p in base if p not in ("h000", "h001")]][:200]
    current = ranking(now_order)
    changes = pl.DataFrame(
        {"household_pid": ["h001", "h050"], "new_records": [False, True], "moved": [True, False]}
    )
    top1 = overlap(current, previous, changes, 0.01)
    assert (top1["listed"], top1["kept"], top1["share_kept"]) == (2, 1, 0.5)
    assert top1["entered"] == {
        "new_household": 0,
        "moved": 1,
        "new_records": 0,
        "new_model": 0,
        "no_change_of_its_own": 0,
    }
    assert top1["left"]["new_records"] == 1 and sum(top1["left"].values()) == 1
    top5 = overlap(current, previous, changes, 0.05)
    # last month's top 10: h000, h050, h001..h008; this month's: h000, h001, n001, h002..h008
    assert (top5["listed"], top5["kept"]) == (10, 9)
    assert top5["entered"]["new_household"] == 1 and sum(top5["entered"].values()) == 1
    assert top5["left"] == {
        "new_household": 0,
        "moved": 0,
        "new_records": 1,
        "new_model": 0,
        "no_change_of_its_own": 0,
    }  # h050


def test_a_new_model_version_is_named_as_the_cause_when_the_old_one_disagrees():
    base = [f"h{i:03d}" for i in range(100)]  # the top 1% is one household
    previous = ranking(base)  # h000 first last month
    current = ranking(["h001", *[p for p in base if p != "h001"]])  # h001 first now
    none = pl.DataFrame(
        schema={"household_pid": pl.String, "new_records": pl.Boolean, "moved": pl.Boolean}
    )
    # last month's model, on this month's households, still puts h000 first: the model moved
    # both h001 in and h000 out
    old_model_now = ranking(base)
    o = overlap(current, previous, none, 0.01, old_model_now)
    assert (o["entered"]["new_model"], o["left"]["new_model"]) == (1, 1)
    # had the old model also put h001 first, neither is the model's doing
    o = overlap(current, previous, none, 0.01, ranking(current["household_pid"].to_list()))
    assert o["entered"]["no_change_of_its_own"] == 1 and o["left"]["no_change_of_its_own"] == 1
    assert o["entered"]["new_model"] == 0 == o["left"]["new_model"]
    # without the old model's ranking the cause is not guessed
    assert overlap(current, previous, none, 0.01)["entered"]["new_model"] == 0


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute(
        "CREATE TABLE linked_events (household_pid VARCHAR, event_date DATE, arrival_month VARCHAR)"
    )
    c.execute("CREATE TABLE residence (household_pid VARCHAR, valid_from DATE, valid_to DATE)")
    c.executemany(
        "INSERT INTO linked_events VALUES (?, ?, ?)",
        [
            ("h1", date(2025, 12, 10), "2025-12"),  # dated since last month: new
            ("h2", date(2025, 11, 5), "2025-12"),  # arrived late, since last month: new
            ("h3", date(2025, 11, 5), "2025-11"),  # counted last month already
            ("h4", date(2026, 1, 3), "2026-01"),  # not before this month's date: not yet
            (None, date(2025, 12, 10), "2025-12"),  # not linked
        ],
    )
    c.executemany(
        "INSERT INTO residence VALUES (?, ?, ?)",
        [
            ("h5", date(2025, 12, 20), None),  # moved in since last month
            ("h6", date(2020, 1, 1), date(2025, 12, 1)),  # moved out since last month
            ("h7", date(2024, 1, 1), None),
            ("h1", date(2025, 11, 30), None),  # moved in before last month's date
        ],
    )
    yield c
    c.close()


def test_new_records_and_moves_between_the_two_dates(con):
    got = _changes(con, "2025-12", "2026-01").sort("household_pid")
    assert got.rows() == [
        ("h1", True, False),
        ("h2", True, False),
        ("h5", False, True),
        ("h6", False, True),
    ]


def test_the_kept_ranking_and_report_round_trip(con):
    assert previous_ranking(con, "2026-01").height == 0 and load_report(con, "2026-01") is None
    for month, version in (("2025-11", "1"), ("2025-12", "1"), ("2026-01", "2")):
        store(con, ranking(["h1", "h2", "h3"]), month, version, {"as_of": month, "feature_psi": {}})
    kept = con.sql("SELECT DISTINCT as_of FROM score_history ORDER BY 1").fetchall()
    assert kept == [("2025-12",), ("2026-01",)]  # the newest earlier month and this one
    prev = previous_ranking(con, "2026-01")
    assert prev["as_of"].unique().to_list() == ["2025-12"] and prev.height == 3
    assert load_report(con, "2026-01") == {"as_of": "2026-01"}  # without the feature table


def test_monitor_compares_with_last_month_and_the_training_window(con):
    store(con, ranking(["h1", "h2", "h3", "h4"]), "2025-12", "1", {})
    now = ranking(["h2", "h1", "h3", "h4"])
    features = pl.DataFrame({"household_pid": ["h2", "h1", "h3", "h4"], "x": [1.0, 1, 0, 0]})
    reference = ("2025-01", pl.DataFrame({"x": [0.0, 0, 0, 1]}), np.array([0.1, 0.2, 0.3, 0.4]))
    report = monitor(
        con,
        now,
        "2026-01",
        "2",
        np.array([0.4, 0.3, 0.2, 0.1]),
        features,
        reference,
        ["x"],
        lambda version: ranking(["h1", "h2", "h3", "h4"]) if version == "1" else None,
    )
    assert report["new_model_version"] is True and report["previous_as_of"] == "2025-12"
    top1 = report["overlap"]["1pct"]
    assert (top1["listed"], top1["kept"]) == (1, 0)
    assert report["old_model_compared"] is True
    assert top1["entered"]["new_records"] == 1  # h2's late-arriving record
    assert top1["left"]["new_records"] == 1  # h1's new record
    # x: 3/4 zeros then 2/4: (0.5 - 0.75) ln(0.5 / 0.75) + (0.5 - 0.25) ln(0.5 / 0.25)
    assert report["feature_psi"]["x"] == pytest.approx(0.25 * np.log(1.5) + 0.25 * np.log(2))
    assert report["score_psi"] == pytest.approx(psi([0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]))
    m = monitoring_metrics(report)
    assert m["monitoring.overlap_top_1pct"] == 0.0 and m["monitoring.new_model_version"] == 1.0
    assert m["monitoring.feature_psi.x"] == report["feature_psi"]["x"]


def test_psi_reads_the_same_households_whatever_is_kept(monkeypatch):
    """The sample of this month's features PSI reads is the listed households in list order,
    evenly spaced, as if the whole feature frame were joined to the list; the scores worked
    out a chunk at a time are the scores worked out at once."""
    import hearth.modelling.scoring.monitoring as m

    monkeypatch.setattr(m, "PSI_SAMPLE", 4)
    monkeypatch.setattr(m, "PREDICT_ROWS", 3)
    pids = [f"h{i}" for i in range(10)]
    features = pl.DataFrame({"household_pid": pids, "x": [float(i) for i in range(10)]})
    listed = ["h7", "h2", "h9", "h0", "h5", "h1", "h8", "h3", "h6", "h4"]
    ranked = pl.DataFrame({"household_pid": listed, "rank": list(range(1, 11))})
    got = m.list_sample(features, ranked, ["x"])
    whole = ranked.join(features, on="household_pid", maintain_order="left")
    assert got["x"].to_list() == whole["x"].to_numpy()[m._spaced(10)].tolist()
    assert got["x"].to_list() == [7.0, 0.0, 8.0, 4.0]

    class Model:  # each row's score is its own
        def predict_proba(self, X):
            return np.column_stack([1 - X[:, 0] / 10, X[:, 0] / 10])

    assert m.predict_in_chunks(Model(), features, ["x"]).tolist() == pytest.approx(
        [i / 10 for i in range(10)]
    )
